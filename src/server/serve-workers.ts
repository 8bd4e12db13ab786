import cluster, { type Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'
import { ZregError, type ErrorCode } from '../errors.js'
import { startStaticServer, type RunningServer, type ServeOptions } from './http-server.js'
import { serveOptionsOf, serveSettings, type ServeSettings } from './serve-settings.js'
import { serveUntilSignal } from './until-signal.js'

/** In the environment of the processes `zreg serve` forks: what they serve, as JSON (ServeSettings). */
const settingsVariable = 'ZREG_SERVE_WORKER'

/** What a worker tells the primary: that it cannot serve (the primary fails as it would itself), or that it serves (and an image to pull). */
type WorkerMessage = { zregWorkerFailed: { code?: string; message: string } } | { zregWorkerServing: { examples: string[] } }

/**
 * The program each worker runs (serve-worker-main.ts, bundled like the CLI): it loads the server and
 * nothing else, not the CLI, so a worker idles at what node and the server need.
 */
function workerProgram(): string {
  return fileURLToPath(import.meta.resolve('#serve-worker'))
}

/**
 * In a forked worker (its program's whole work): serves the tree the primary named, as
 * startStaticServer does, from the socket the primary shares with every worker (node:cluster), until
 * SIGTERM or until the primary is gone. A failure to start is sent to the primary, which reports it.
 */
export async function runServeWorker(): Promise<void> {
  // The primary gone (killed): nothing supervises this process any more.
  process.on('disconnect', () => process.exit(0))
  let server: RunningServer
  try {
    server = await startStaticServer(serveOptionsOf(JSON.parse(process.env[settingsVariable] ?? '') as ServeSettings))
    process.send?.({ zregWorkerServing: { examples: server.registry.examples(1) } } satisfies WorkerMessage)
  } catch (error) {
    const failure: WorkerMessage = { zregWorkerFailed: { message: (error as Error).message, ...(error instanceof ZregError ? { code: error.code } : {}) } }
    // The primary reports it (once, not once per worker).
    process.send?.(failure, () => process.exit(1))
    return
  }
  await serveUntilSignal(server, () => undefined)
  process.disconnect?.()
}

/**
 * `zreg serve` on several cores: forks `count` workers (node:cluster, each running workerProgram),
 * each loading the live generation and serving it from the one listening socket the primary shares
 * among them, each picking up a rebuild on its own. Resolves once all listen, with their common port
 * (0: a free one, the same for all) and an image to pull as an example. A worker that dies later is
 * replaced. close() stops them all (SIGTERM: each finishes its requests in flight). Rejects with a
 * worker's error (PORT_IN_USE, SITE_NOT_FOUND, ...) when one cannot start.
 */
export async function startServeWorkers(options: { count: number; log: (text: string) => void; serve: ServeOptions }): Promise<{ url: string; port: number; examples: string[]; close(): Promise<void> }> {
  const settings = serveSettings(options.serve)
  cluster.setupPrimary({ exec: workerProgram(), args: [] })
  let stopping = false
  const workers = new Set<Worker>()
  const fork = () => {
    const worker = cluster.fork({ [settingsVariable]: JSON.stringify(settings) })
    workers.add(worker)
    // The cluster's own messages to a worker that was just stopped (the others, when one cannot start)
    // fail with EPIPE; unheard, that error would end this process.
    worker.on('error', (error) => {
      if (!stopping) options.log(`zreg: a serve worker: ${error.message}`)
    })
    worker.on('exit', (code, signal) => {
      workers.delete(worker)
      if (stopping || !started) return
      options.log(`zreg: a serve worker stopped (${signal ?? `exit code ${code}`}); starting another`)
      fork()
    })
    return worker
  }
  let started = false
  let examples: string[] = []
  const first = Array.from({ length: options.count }, fork)
  const port = await new Promise<number>((resolve, reject) => {
    let ready = 0
    let found = 0
    for (const worker of first) {
      // The cluster's own 'listening' comes down the same channel before the worker's message.
      worker.once('listening', (address) => (found = address.port))
      worker.on('message', (message: Partial<WorkerMessage>) => {
        if ('zregWorkerFailed' in message && message.zregWorkerFailed) {
          const failed = message.zregWorkerFailed
          reject(failed.code === undefined ? new Error(failed.message) : new ZregError(failed.code as ErrorCode, failed.message))
        }
        if ('zregWorkerServing' in message && message.zregWorkerServing) {
          examples = message.zregWorkerServing.examples
          if (++ready === first.length) resolve(found)
        }
      })
      worker.once('exit', (code) => {
        // Its last message (why it could not start) may still be in the channel when its exit is seen:
        // the channel closes (disconnect) only after all of it is read, and the first reason given wins.
        const fail = () => reject(new ZregError('INTERNAL', `a serve worker exited while starting (exit code ${code})`))
        if (worker.isConnected()) worker.once('disconnect', fail)
        else fail()
      })
    }
  }).catch(async (error: unknown) => {
    stopping = true
    for (const worker of workers) worker.process.kill('SIGKILL')
    throw error
  })
  started = true
  const host = settings.host ?? '127.0.0.1'
  return {
    url: `${settings.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    examples,
    close: async () => {
      stopping = true
      await Promise.all([...workers].map((worker) => new Promise<void>((resolve) => {
        worker.once('exit', () => resolve())
        worker.process.kill('SIGTERM')
      })))
    },
  }
}
