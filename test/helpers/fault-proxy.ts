import { randomUUID } from 'node:crypto'
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestServer } from './servers.js'

/** What a rule does to a request it matches. */
export type Fault =
  /** Sends the headers (Content-Length included) and the first `fraction` (default 0.5) of the body, then destroys the socket. */
  | { kind: 'drop'; fraction?: number }
  /** Sends the headers and the first `fraction` (default 0.5) of the body, then nothing more, keeping the connection open (a stalled download). */
  | { kind: 'stall'; fraction?: number }
  /** Answers `status` (503, 429, 500, ...) with `headers` (e.g. `{ 'retry-after': '1' }`) and an OCI error body, without asking upstream. */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Answers 307 to the side server (another port), which serves the same bytes as a CDN would, from a signed URL. */
  | { kind: 'redirect' }
  /** Passes the answer on with `bytes` spaces after the body: Content-Length grown to match, or dropped (chunked) with `chunked`. */
  | { kind: 'pad'; bytes: number; chunked?: boolean }
  /** Forwards the request without its Range header, as a server without range support answers: 200 and the whole body (`chunked`: without Content-Length). */
  | { kind: 'ignore-range'; chunked?: boolean }
  /** Passes the answer on with one byte of the body (the middle one) flipped; headers unchanged. */
  | { kind: 'flip' }

export interface FaultRule {
  /** GET, HEAD, ...; any method when absent. */
  method?: string
  /** Matched against the path with its query (`/v2/x/blobs/sha256:...`). */
  path: RegExp
  /** How many requests the rule applies to (default 1; Infinity for all). */
  times?: number
  fault: Fault
}

export interface RecordedRequest {
  method: string
  /** Path with query. */
  path: string
  headers: IncomingHttpHeaders
  /** The fault applied, if any. */
  fault?: Fault['kind']
}

export interface FaultProxy extends TestServer {
  /** Every request that reached the proxy, in order. */
  requests: RecordedRequest[]
  /** Every request that reached the side server (the redirect target), with its headers: did Authorization arrive? */
  sideRequests: RecordedRequest[]
  /** The side server's origin (`http://127.0.0.1:PORT`). */
  sideUrl: string
  /** Adds rules after the ones there; a request gets the fault of the first rule that matches it. */
  fault(...rules: FaultRule[]): void
  /** Drops the rules and the recorded requests. */
  reset(): void
}

const hopHeaders = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

function forwardHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !hopHeaders.has(name)) out[name] = value
  return out
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/**
 * A reverse proxy (node:http) in front of an upstream registry (`upstream`, an http origin), that
 * injects faults into the requests that match its rules and records every request.
 *
 * ```ts
 * const proxy = await startFaultProxy(registry.url)
 * proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'drop' } })              // cut half-way, once
 * proxy.fault({ path: /\/manifests\//, times: 2, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' } } })
 * proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'redirect' } })          // 307 to proxy.sideUrl
 * proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'flip' } })              // one wrong byte
 * proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'stall' } })             // half, then silence
 * proxy.fault({ method: 'GET', path: /\/manifests\//, fault: { kind: 'pad', bytes: 5 << 20 } }) // a body too long
 * // ... point a client at proxy.authority / proxy.url ...
 * proxy.requests.filter((r) => r.headers.range)   // what was sent
 * proxy.sideRequests[0]?.headers.authorization    // undefined when the client kept it to the registry
 * await proxy.stop()
 * ```
 *
 * The Host header goes upstream as the client sent it, so upstream's absolute URLs (a token realm,
 * Location) point back at the proxy. The side server fetches upstream with the Authorization of the
 * redirected request, as a signed CDN URL would carry it, so redirects work behind auth too.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream)
  const agent = new Agent({ keepAlive: true })
  const rules: (FaultRule & { times: number })[] = []
  const requests: RecordedRequest[] = []
  const sideRequests: RecordedRequest[] = []
  /** Signed side-server paths -> the request they stand for. */
  const signed = new Map<string, { method: string; path: string; authorization?: string }>()

  /** Sends a request upstream and hands its answer to `answer`. */
  const forward = (req: IncomingMessage, res: ServerResponse, path: string, headers: Record<string, string | string[]>, answer: (upstreamRes: IncomingMessage) => void) => {
    const out = request({ host: target.hostname, port: target.port, method: req.method, path, headers, agent }, answer)
    out.on('error', () => res.destroy())
    req.pipe(out)
  }

  const passOn = (res: ServerResponse, upstreamRes: IncomingMessage, fault?: Fault) => {
    if (fault?.kind === 'ignore-range' && fault.chunked) fault = { kind: 'pad', bytes: 0, chunked: true }
    if (fault?.kind === 'pad') {
      const headers = forwardHeaders(upstreamRes.headers)
      delete headers['content-length']
      if (!fault.chunked) headers['content-length'] = String(Number(upstreamRes.headers['content-length'] ?? 0) + fault.bytes)
      res.writeHead(upstreamRes.statusCode ?? 502, headers)
      upstreamRes.pipe(res, { end: false })
      upstreamRes.on('end', () => res.end(Buffer.alloc(fault.bytes, ' ')))
      return
    }
    res.writeHead(upstreamRes.statusCode ?? 502, forwardHeaders(upstreamRes.headers))
    if (fault?.kind === 'drop' || fault?.kind === 'stall') {
      const length = Number(upstreamRes.headers['content-length'] ?? 0)
      const cut = Math.floor(length * (fault.fraction ?? 0.5))
      let sent = 0
      const cutOff = () => {
        upstreamRes.destroy()
        if (fault.kind === 'stall') return
        // Let what was sent reach the client before the connection goes.
        setTimeout(() => res.socket?.destroy(), 20)
      }
      res.flushHeaders()
      if (cut === 0) return cutOff()
      upstreamRes.on('data', (chunk: Buffer) => {
        if (sent >= cut) return
        const part = chunk.subarray(0, cut - sent)
        sent += part.length
        res.write(part)
        if (sent >= cut) cutOff()
      })
      return
    }
    if (fault?.kind === 'flip') {
      const length = Number(upstreamRes.headers['content-length'] ?? 0)
      const at = Math.floor(length / 2)
      let offset = 0
      upstreamRes.on('data', (chunk: Buffer) => {
        if (at >= offset && at < offset + chunk.length) {
          chunk = Buffer.from(chunk)
          chunk[at - offset] = chunk[at - offset]! ^ 0xff
        }
        offset += chunk.length
        res.write(chunk)
      })
      upstreamRes.on('end', () => res.end())
      return
    }
    upstreamRes.pipe(res)
  }

  let sidePort = 0
  const proxy = createServer((req, res) => {
    const path = req.url ?? '/'
    const rule = rules.find((r) => (r.method === undefined || r.method === req.method) && r.path.test(path) && r.times > 0)
    if (rule) {
      rule.times--
      if (rule.times === 0) rules.splice(rules.indexOf(rule), 1)
    }
    const fault = rule?.fault
    requests.push({ method: req.method ?? '', path, headers: req.headers, ...(fault ? { fault: fault.kind } : {}) })
    if (fault?.kind === 'status') {
      req.resume()
      const code = fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE'
      const body = JSON.stringify({ errors: [{ code, message: `injected ${fault.status}`, detail: null }] })
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...fault.headers })
      res.end(req.method === 'HEAD' ? undefined : body)
      return
    }
    if (fault?.kind === 'redirect') {
      req.resume()
      const id = randomUUID()
      signed.set(id, { method: req.method ?? 'GET', path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) })
      res.writeHead(307, { location: `http://127.0.0.1:${sidePort}/cdn/${id}`, 'content-length': 0 })
      res.end()
      return
    }
    const headers = forwardHeaders(req.headers)
    if (fault?.kind === 'ignore-range') delete headers.range
    forward(req, res, path, headers, (upstreamRes) => passOn(res, upstreamRes, fault))
  })

  const side = createServer((req, res) => {
    sideRequests.push({ method: req.method ?? '', path: req.url ?? '/', headers: req.headers })
    const id = /^\/cdn\/([0-9a-f-]+)$/.exec(req.url ?? '')?.[1]
    const original = id === undefined ? undefined : signed.get(id)
    if (original === undefined) {
      res.writeHead(403, { 'content-type': 'text/plain' })
      res.end('unknown or expired signed URL')
      return
    }
    const headers: Record<string, string> = { host: target.host }
    if (original.authorization) headers.authorization = original.authorization
    if (req.headers.range) headers.range = req.headers.range
    forward(req, res, original.path, headers, (upstreamRes) => {
      // A CDN serves the bytes itself: an upstream redirect or error is passed on as it is.
      passOn(res, upstreamRes)
    })
  })

  const port = await listen(proxy)
  sidePort = await listen(side)
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return {
    url: `http://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    sideUrl: `http://127.0.0.1:${sidePort}`,
    requests,
    sideRequests,
    fault: (...added) => {
      for (const rule of added) rules.push({ ...rule, times: rule.times ?? 1 })
    },
    reset: () => {
      rules.length = 0
      requests.length = 0
      sideRequests.length = 0
    },
    stop: async () => {
      await Promise.all([close(proxy), close(side)])
      agent.destroy()
    },
  }
}
