import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { serveJobs } from '../workers/serve-jobs.js'
import type { HashJob, HashResult } from './hash-files.js'

/** Reused for every file: a worker hashes one at a time, and its reads need no fresh memory. */
const buffer = Buffer.allocUnsafe(1024 * 1024)

/** Hashes a whole file with plain blocking reads (this thread does nothing else meanwhile). */
function hashFile(job: HashJob): HashResult {
  const hash = createHash(job.algorithm)
  const fd = openSync(job.path, 'r')
  let size = 0
  try {
    for (let read = readSync(fd, buffer, 0, buffer.length, null); read > 0; read = readSync(fd, buffer, 0, buffer.length, null)) {
      hash.update(buffer.subarray(0, read))
      size += read
    }
  } finally {
    closeSync(fd)
  }
  return { digest: `${job.algorithm}:${hash.digest('hex')}`, size }
}

serveJobs(hashFile)
