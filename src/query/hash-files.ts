import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { WorkerPool } from '../workers/worker-pool.js'

/** A file to hash whole with `algorithm` (sha256, sha512). */
export interface HashJob {
  path: string
  algorithm: string
}

export interface HashResult {
  /** `algorithm:hex` of the bytes. */
  digest: string
  /** Bytes read. */
  size: number
}

/** Files up to this size are hashed from one read on the main thread: a worker's round trip costs more. */
const smallFile = 1024 * 1024

let pool: WorkerPool<HashJob, HashResult> | undefined

/** Hashes a file on this thread, 1 MiB at a time, so the event loop (feeding the workers) keeps turning. */
async function hashHere(job: HashJob): Promise<HashResult> {
  const hash = createHash(job.algorithm)
  const file = await open(job.path, 'r')
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  let size = 0
  try {
    for (let { bytesRead } = await file.read(buffer, 0, buffer.length, null); bytesRead > 0; { bytesRead } = await file.read(buffer, 0, buffer.length, null)) {
      hash.update(buffer.subarray(0, bytesRead))
      size += bytesRead
    }
  } finally {
    await file.close()
  }
  return { digest: `${job.algorithm}:${hash.digest('hex')}`, size }
}

/**
 * Hashes every file whole, on every core: small files (by `size`) here from one read each, the others
 * shared between this thread and a worker thread per other core (hash-worker.ts: blocking 1 MiB reads
 * into a reused buffer), each lane taking the next file when it is done, so this thread hashes while
 * the workers start. `onResult` gets each file's digest and size as it is known. Rejects with a file's
 * system error.
 */
export async function hashFiles<Job extends HashJob & { size: number }>(jobs: readonly Job[], onResult: (job: Job, result: HashResult) => void): Promise<void> {
  const queue: Job[] = []
  for (const job of jobs) {
    if (job.size > smallFile) {
      queue.push(job)
      continue
    }
    const bytes = readFileSync(job.path)
    onResult(job, { digest: `${job.algorithm}:${createHash(job.algorithm).update(bytes).digest('hex')}`, size: bytes.length })
  }
  // Largest first, so no lane is left with one big file at the end.
  queue.sort((a, b) => b.size - a.size)
  const lane = async (hash: (job: HashJob) => Promise<HashResult>) => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) onResult(job, await hash(job))
  }
  const workers = Math.min(availableParallelism() - 1, queue.length - 1)
  // By package.json's "imports": the CLI runs this code from a bundle elsewhere (validate.ts says more).
  if (workers > 0) pool ??= new WorkerPool<HashJob, HashResult>(new URL(import.meta.resolve('#hash-worker')), availableParallelism() - 1, 'hash')
  const lanes = [lane(hashHere), ...Array.from({ length: Math.max(0, workers) }, () => lane((job) => pool!.run({ path: job.path, algorithm: job.algorithm })))]
  await Promise.all(lanes)
}
