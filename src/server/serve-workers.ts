import cluster, { type Worker } from 'node:cluster'
import { ZregError, type ErrorCode } from '../errors.js'
import { startStaticServer, type ListenOptions, type RunningServer, type ServeOptions } from './http-server.js'

/** Set in the environment of the processes `zreg serve` forks: they serve, the first one supervises. */
const workerVariable = 'ZREG_SERVE_WORKER'

/** True in a process `startServeWorkers` forked. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[workerVariable] === '1'
}

/** What a worker tells the primary when it cannot serve, so the primary fails as it would itself. */
interface WorkerFailure {
  zregWorkerFailed: { code?: string; message: string }
}

/**
 * In a forked worker: serves the tree as startStaticServer does, from the socket the primary shares
 * with every worker (node:cluster), until SIGTERM or until the primary is gone. A failure to start is
 * sent to the primary, which reports it.
 */
export async function runServeWorker(options: ServeOptions): Promise<RunningServer> {
  // The primary gone (killed): nothing supervises this process any more.
  process.on('disconnect', () => process.exit(0))
  try {
    return await startStaticServer(options)
  } catch (error) {
    const failure: WorkerFailure = { zregWorkerFailed: { message: (error as Error).message, ...(error instanceof ZregError ? { code: error.code } : {}) } }
    // The primary reports it (once, not once per worker).
    process.send?.(failure, () => process.exit(1))
    return new Promise<never>(() => undefined)
  }
}

/**
 * `zreg serve` on several cores: forks `count` workers (this command again, by node:cluster), each
 * loading the live generation and serving it from the one listening socket the primary shares among
 * them, each picking up a rebuild on its own. Resolves once all listen, with their common port (0: a
 * free one, the same for all). A worker that dies later is replaced. close() stops them all (SIGTERM:
 * each finishes its requests in flight). Rejects with a worker's error (PORT_IN_USE, SITE_NOT_FOUND, ...)
 * when one cannot start.
 */
export async function startServeWorkers(options: { count: number; log: (text: string) => void; listen: ListenOptions }): Promise<{ url: string; port: number; close(): Promise<void> }> {
  let stopping = false
  const workers = new Set<Worker>()
  const fork = () => {
    const worker = cluster.fork({ [workerVariable]: '1' })
    workers.add(worker)
    worker.on('exit', (code, signal) => {
      workers.delete(worker)
      if (stopping || !started) return
      options.log(`zreg: a serve worker stopped (${signal ?? `exit code ${code}`}); starting another`)
      fork()
    })
    return worker
  }
  let started = false
  const first = Array.from({ length: options.count }, fork)
  const port = await new Promise<number>((resolve, reject) => {
    let listening = 0
    let found = 0
    for (const worker of first) {
      worker.on('message', (message: Partial<WorkerFailure>) => {
        const failed = message.zregWorkerFailed
        if (failed) reject(failed.code === undefined ? new Error(failed.message) : new ZregError(failed.code as ErrorCode, failed.message))
      })
      worker.once('listening', (address) => {
        found = address.port
        if (++listening === first.length) resolve(found)
      })
      worker.once('exit', (code) => reject(new ZregError('INTERNAL', `a serve worker exited while starting (exit code ${code})`)))
    }
  }).catch(async (error: unknown) => {
    stopping = true
    for (const worker of workers) worker.process.kill('SIGKILL')
    throw error
  })
  started = true
  const host = options.listen.host ?? '127.0.0.1'
  return {
    url: `${options.listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: async () => {
      stopping = true
      await Promise.all([...workers].map((worker) => new Promise<void>((resolve) => {
        worker.once('exit', () => resolve())
        worker.process.kill('SIGTERM')
      })))
    },
  }
}
