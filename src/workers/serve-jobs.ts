import { parentPort } from 'node:worker_threads'
import type { WorkerReply } from './worker-pool.js'

/** An Error's fields that survive postMessage: Node's own error codes are what systemError() reads. */
function serializable(error: unknown): WorkerReply<never> {
  const { message = String(error), code, syscall, path, errno } = (error ?? {}) as NodeJS.ErrnoException
  return { ok: false, error: { message, ...(typeof code === 'string' ? { code } : {}), ...(syscall ? { syscall } : {}), ...(path ? { path } : {}), ...(errno === undefined ? {} : { errno }) } }
}

/** In a worker thread of a WorkerPool: answers each job the pool posts with what `work` makes of it. */
export function serveJobs<Job, Result>(work: (job: Job) => Promise<Result> | Result): void {
  parentPort!.on('message', (job: Job) => {
    Promise.resolve()
      .then(() => work(job))
      .then(
        (result) => parentPort!.postMessage({ ok: true, result } satisfies WorkerReply<Result>),
        (error: unknown) => parentPort!.postMessage(serializable(error)),
      )
  })
}
