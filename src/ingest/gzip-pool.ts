import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Digest } from '../oci/digest.js'
import type { ParallelGzipOptions } from './parallel-gzip.js'

/** One file range to gzip into a new file `temp` (which must not exist). */
export interface GzipJob {
  file: string
  offset: number
  size: number
  temp: string
  gzip: ParallelGzipOptions
}

export type GzipReply =
  | { ok: true; digest: Digest; size: number; diffId: Digest }
  | { ok: false; error: { message: string; code?: string; syscall?: string; path?: string; errno?: number } }

interface Task {
  job: GzipJob
  resolve: (result: { digest: Digest; size: number; diffId: Digest }) => void
  reject: (error: Error) => void
}

/**
 * Worker threads that gzip file ranges (gzip-worker.ts), one job each at a time, so the hashing, CRC
 * and stream plumbing of several layers run on several cores instead of all on the main thread.
 * Idle workers do not keep the process alive; a worker that dies fails its job and is replaced.
 */
class GzipPool {
  private readonly idle: Worker[] = []
  private readonly queue: Task[] = []
  private started = 0

  constructor(private readonly size: number) {}

  run(job: GzipJob): Promise<{ digest: Digest; size: number; diffId: Digest }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject })
      this.dispatch()
    })
  }

  private spawn(): Worker {
    this.started++
    // A worker makes little garbage of its own (its block buffers are reused): a small young generation.
    return new Worker(new URL('gzip-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } })
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop()
      if (worker === undefined) {
        if (this.started === this.size) return
        worker = this.spawn()
      }
      this.assign(worker, this.queue.shift()!)
    }
  }

  private assign(worker: Worker, task: Task): void {
    const settle = (reply: GzipReply | Error) => {
      worker.off('message', settle).off('error', settle).off('exit', exited)
      if (reply instanceof Error) {
        this.started--
        void worker.terminate()
        task.reject(reply)
      } else {
        worker.unref()
        this.idle.push(worker)
        if (reply.ok) task.resolve({ digest: reply.digest, size: reply.size, diffId: reply.diffId })
        else task.reject(Object.assign(new Error(reply.error.message), reply.error))
      }
      this.dispatch()
    }
    const exited = (code: number) => settle(new Error(`a gzip worker thread stopped (exit code ${code})`))
    worker.on('message', settle).on('error', settle).on('exit', exited)
    worker.ref()
    worker.postMessage(task.job)
  }
}

let pool: GzipPool | undefined

/**
 * Gzips `job.size` bytes of `job.file` from `job.offset` into `job.temp` (ParallelGzip, same bytes as
 * in-process), hashing the plain bytes and the gzip as they stream, and fsyncs it; on a worker thread.
 * Rejects with the worker's error, with its Node error code, syscall and path kept.
 */
export function gzipFileRange(job: GzipJob): Promise<{ digest: Digest; size: number; diffId: Digest }> {
  pool ??= new GzipPool(availableParallelism())
  return pool.run(job)
}

