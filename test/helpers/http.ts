import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** A request with the path sent exactly as written (fetch would normalise `..`). */
export async function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, options: { ca?: Buffer; body?: Buffer | string } = {}): Promise<RawResponse> {
  const url = new URL(base)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/**
 * Writes a request exactly as given (head and body bytes, whatever its headers say), optionally ending
 * the client's half of the connection, and parses the first response that comes back.
 */
export async function socketRequest(base: string, head: string, body: Buffer | string = '', options: { endAfterBody?: boolean } = {}): Promise<RawResponse> {
  const { connect } = await import('node:net')
  const socket = connect(Number(new URL(base).port), new URL(base).hostname)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => undefined)
  socket.write(head)
  socket.write(body)
  if (options.endAfterBody) socket.end()
  const received = () => Buffer.concat(chunks)
  const complete = () => {
    const text = received()
    const end = text.indexOf('\r\n\r\n')
    if (end < 0) return false
    const length = /\r\ncontent-length: *(\d+)/i.exec(text.subarray(0, end).toString('latin1'))
    return length !== null && text.length >= end + 4 + Number(length[1])
  }
  await new Promise<void>((resolve) => {
    const check = () => complete() && resolve()
    socket.on('data', check)
    socket.once('close', () => resolve())
  })
  socket.destroy()
  const text = received()
  const end = text.indexOf('\r\n\r\n')
  const headLines = text.subarray(0, end).toString('latin1').split('\r\n')
  const headers: IncomingHttpHeaders = {}
  for (const line of headLines.slice(1)) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  return { status: Number(headLines[0]?.split(' ')[1] ?? 0), headers, body: text.subarray(end + 4, end + 4 + length) }
}
