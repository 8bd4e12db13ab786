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
