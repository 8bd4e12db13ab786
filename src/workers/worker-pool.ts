import { Worker } from 'node:worker_threads'

/** What a worker answers for one job: its result, or its error with the fields postMessage keeps. */
export type WorkerReply<Result> = { ok: true; result: Result } | { ok: false; error: { message: string; code?: string; syscall?: string; path?: string; errno?: number } }

interface Task<Job, Result> {
  job: Job
  resolve: (result: Result) => void
  reject: (error: Error) => void
}

/**
 * Up to `size` worker threads running `script` (which answers with serveJobs), one job each at a time,
 * so work that would block the main thread (hashing, compressing) runs on several cores. Workers start
 * when jobs need them and are kept; idle ones do not keep the process alive. A worker that dies fails
 * its job and is replaced. A job's error comes back as an Error with its Node code, syscall and path.
 */
export class WorkerPool<Job, Result> {
  private readonly idle: Worker[] = []
  private readonly queue: Task<Job, Result>[] = []
  private started = 0

  constructor(
    private readonly script: URL,
    private readonly size: number,
    /** Names the workers in the error a dead one gives its job ("a gzip worker thread stopped"). */
    private readonly name: string,
    /** MiB: the young generation of each worker (small for workers that reuse their buffers). */
    private readonly youngGenerationMb = 4,
  ) {}

  run(job: Job): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject })
      this.dispatch()
    })
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop()
      if (worker === undefined) {
        if (this.started === this.size) return
        this.started++
        worker = new Worker(this.script, { resourceLimits: { maxYoungGenerationSizeMb: this.youngGenerationMb } })
      }
      this.assign(worker, this.queue.shift()!)
    }
  }

  private assign(worker: Worker, task: Task<Job, Result>): void {
    const settle = (reply: WorkerReply<Result> | Error) => {
      worker.off('message', settle).off('error', settle).off('exit', exited)
      if (reply instanceof Error) {
        this.started--
        void worker.terminate()
        task.reject(reply)
      } else {
        worker.unref()
        this.idle.push(worker)
        if (reply.ok) task.resolve(reply.result)
        else task.reject(Object.assign(new Error(reply.error.message), reply.error))
      }
      this.dispatch()
    }
    const exited = (code: number) => settle(new Error(`a ${this.name} worker thread stopped (exit code ${code})`))
    worker.on('message', settle).on('error', settle).on('exit', exited)
    worker.ref()
    worker.postMessage(task.job)
  }
}
