import { availableParallelism } from 'node:os'
import { WorkerPool } from '../workers/worker-pool.js'
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

/** What gzipping one range gives: the gzip's digest and size, and the plain bytes' digest (the diff_id). */
export interface GzipResult {
  digest: Digest
  size: number
  diffId: Digest
}

let pool: WorkerPool<GzipJob, GzipResult> | undefined

/**
 * Gzips `job.size` bytes of `job.file` from `job.offset` into `job.temp` (ParallelGzip, same bytes as
 * in-process), hashing the plain bytes and the gzip as they stream, and fsyncs it; on a worker thread.
 * Rejects with the worker's error, with its Node error code, syscall and path kept.
 */
export function gzipFileRange(job: GzipJob): Promise<GzipResult> {
  // Worker threads gzip the ranges, so the hashing, CRC and plumbing of several layers run on several cores.
  // By package.json's "imports": the CLI runs this code from a bundle elsewhere (validate.ts says more).
  pool ??= new WorkerPool<GzipJob, GzipResult>(new URL(import.meta.resolve('#gzip-worker')), availableParallelism(), 'gzip')
  return pool.run(job)
}

