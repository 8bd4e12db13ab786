import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { systemError, ZregError } from '../errors.js'
import { answerClientError } from './client-error.js'

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

/** One access-log entry: what `--json` prints as an object, and the text line is made of. */
export interface AccessLogEntry {
  remote: string
  method: string
  url: string
  protocol: string
  status: number
  /** Content-Length sent, or null when there was none (chunked, cut). */
  length: number | null
  ms: number
  userAgent: string
}

/** The common-log-like text line: `remote "GET /v2/ HTTP/1.1" 200 2 1.2ms "agent"`. */
function accessLogLine(entry: AccessLogEntry): string {
  return `${entry.remote} "${entry.method} ${entry.url} ${entry.protocol}" ${entry.status} ${entry.length ?? '-'} ${entry.ms.toFixed(1)}ms "${entry.userAgent}"`
}

function logRequests(handler: (req: IncomingMessage, res: ServerResponse) => void, log: (entry: AccessLogEntry) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now()
    // Read now: by 'close' the socket may be gone (a connection the server cut), and req.socket null.
    const remote = req.socket.remoteAddress ?? '-'
    res.once('close', () => {
      const length = res.getHeader('Content-Length')
      log({
        remote,
        method: req.method ?? '-',
        url: req.url ?? '-',
        protocol: `HTTP/${req.httpVersion}`,
        status: res.statusCode,
        length: length === undefined ? null : Number(length),
        ms: Math.round((performance.now() - started) * 10) / 10,
        userAgent: req.headers['user-agent'] ?? '',
      })
    })
    handler(req, res)
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolveListen, reject) => {
    // EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOTFOUND: the error table says what to do about each.
    server.once('error', (error: NodeJS.ErrnoException) => reject(systemError(error) ?? error))
    server.listen(port, host, () => {
      server.removeAllListeners('error')
      resolveListen()
    })
  })
  return (server.address() as AddressInfo).port
}

export interface ListenOptions {
  host?: string
  /** 0 picks a free port. */
  port?: number
  tls?: { cert: string; key: string }
  /** Where access-log lines go (default: stdout); false for none. */
  accessLog?: ((line: string) => void) | false
  /** `json`: each request, and each message, is one JSON object per line (`zreg serve --json`). */
  logFormat?: 'text' | 'json'
}

/** Runs `handler` over HTTP or HTTPS with an access log; `onClose` runs when the server stops. */
export async function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, options: ListenOptions, onClose: () => void = () => undefined) {
  const host = options.host ?? '127.0.0.1'
  const write = options.accessLog === false ? undefined : (options.accessLog ?? bufferedLog((text) => process.stdout.write(text)))
  const json = options.logFormat === 'json'
  const logged = write ? logRequests(handler, (entry) => write(json ? JSON.stringify(entry) : accessLogLine(entry))) : handler
  // Messages (a failed reload, a dropped webhook) share the log, as JSON objects too under --json.
  const log = write && json ? (message: string) => write(JSON.stringify({ message })) : write
  let server: Server
  if (options.tls) {
    const read = (path: string, about: string) =>
      readFile(path).catch((error: Error) => {
        throw systemError(error, path, about) ?? new ZregError('USAGE', `cannot read the TLS ${about}: ${error.message}`)
      })
    const [cert, key] = await Promise.all([read(options.tls.cert, 'the certificate, --tls-cert'), read(options.tls.key, 'the private key, --tls-key')])
    try {
      server = createHttpsServer({ cert, key }, logged)
    } catch (error) {
      throw new ZregError('USAGE', `the TLS certificate or key is not usable PEM: ${(error as Error).message}`)
    }
  } else {
    server = createHttpServer(logged)
  }
  server.keepAliveTimeout = 65_000
  server.on('clientError', answerClientError)
  const port = await listen(server, options.port ?? 5000, host)
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    log,
    close: async () => {
      onClose()
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose())
        server.closeIdleConnections()
        // Requests in flight get a moment to finish; then the rest are cut.
        setTimeout(() => server.closeAllConnections(), 5000).unref()
      })
    },
  }
}

