import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { ZregError } from '../errors.js'
import { StaticRegistry } from './static-registry.js'

export interface ServeOptions {
  /** The `--out` of `zreg build`. */
  out: string
  host?: string
  /** 0 picks a free port. */
  port?: number
  tls?: { cert: string; key: string }
  /** Where access-log lines go; false for none. */
  accessLog?: ((line: string) => void) | false
  /** How often to look for a newly built generation. */
  reloadIntervalMs?: number
}

export interface RunningServer {
  url: string
  port: number
  registry: StaticRegistry
  close(): Promise<void>
}

/** Batches access-log lines into one write per tick: a line per request without a syscall per request. */
function bufferedLog(write: (text: string) => void): (line: string) => void {
  let pending: string[] = []
  return (line) => {
    if (pending.length === 0) {
      setImmediate(() => {
        const text = pending.join('')
        pending = []
        write(text)
      })
    }
    pending.push(`${line}\n`)
  }
}

function logRequests(handler: (req: IncomingMessage, res: ServerResponse) => void, log: (line: string) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now()
    res.once('close', () => {
      const length = res.getHeader('Content-Length') ?? '-'
      const ms = (performance.now() - started).toFixed(1)
      log(`${req.socket.remoteAddress ?? '-'} "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${length} ${ms}ms "${req.headers['user-agent'] ?? ''}"`)
    })
    handler(req, res)
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new ZregError('USAGE', `${host}:${port} is already in use; pick another --port (0 picks a free one)`))
      else if (error.code === 'EACCES') reject(new ZregError('USAGE', `not allowed to listen on ${host}:${port}; use a port above 1023 or run as root`))
      else if (error.code === 'EADDRNOTAVAIL') reject(new ZregError('USAGE', `${host} is not an address of this machine`))
      else reject(error)
    })
    server.listen(port, host, () => {
      server.removeAllListeners('error')
      resolveListen()
    })
  })
  return (server.address() as AddressInfo).port
}

/** Serves a built tree as a read-only registry over HTTP or HTTPS. */
export async function startStaticServer(options: ServeOptions): Promise<RunningServer> {
  const registry = await StaticRegistry.open(resolve(options.out))
  const host = options.host ?? '127.0.0.1'
  const log = options.accessLog === false ? undefined : (options.accessLog ?? bufferedLog((text) => process.stdout.write(text)))
  const handler = log ? logRequests(registry.handle, log) : registry.handle
  let server: Server
  if (options.tls) {
    const [cert, key] = await Promise.all([readFile(options.tls.cert), readFile(options.tls.key)]).catch((error: Error) => {
      throw new ZregError('USAGE', `cannot read the TLS certificate or key: ${error.message}`)
    })
    try {
      server = createHttpsServer({ cert, key }, handler)
    } catch (error) {
      throw new ZregError('USAGE', `the TLS certificate or key is not usable PEM: ${(error as Error).message}`)
    }
  } else {
    server = createHttpServer(handler)
  }
  server.keepAliveTimeout = 65_000
  const port = await listen(server, options.port ?? 5000, host)
  const timer = setInterval(() => {
    registry.refresh().catch((error: Error) => log?.(`zreg: could not load the new tree: ${error.message}`))
  }, options.reloadIntervalMs ?? 500)
  timer.unref()
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    registry,
    close: async () => {
      clearInterval(timer)
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose())
        server.closeIdleConnections()
        // Requests in flight get a moment to finish; then the rest are cut.
        setTimeout(() => server.closeAllConnections(), 5000).unref()
      })
    },
  }
}
