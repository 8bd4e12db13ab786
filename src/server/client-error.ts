import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ZregError } from '../errors.js'
import { ociErrorBody } from './oci-error-response.js'

/** What Node itself answers to these (no OCI body needed: no registry client reads one). */
const nodeAnswers: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
}

/** The error a parser failure stands for: a body cut short by the connection's end, or anything else malformed. */
function parserError(code: string | undefined): ZregError {
  if (code === 'HPE_INVALID_EOF_STATE') {
    return new ZregError('BODY_SIZE_INVALID', 'the connection ended before the body its Content-Length (or chunked encoding) announced, so the request was not completed; for an upload, GET it for its Range (what was kept) and resume from there')
  }
  return new ZregError('REQUEST_INVALID', `the request is not valid HTTP/1.1 (${code ?? 'parse error'}): a body longer than its Content-Length, or a malformed request line or header`)
}

/**
 * The `clientError` handler: what Node's HTTP parser refuses gets the distribution-spec error body
 * ({"errors":[{code,message}]}) instead of Node's bare 400, then the connection is closed. As Node
 * does, nothing is written once the response of the request in flight has begun.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket.writable && !inFlight?.headersSent && error.code !== 'ECONNRESET') {
    const known = error.code === undefined ? undefined : nodeAnswers[error.code]
    if (known !== undefined) {
      socket.write(known)
    } else {
      const refused = parserError(error.code)
      const body = ociErrorBody(refused)
      socket.write(
        `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Docker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n${body}`,
      )
    }
  }
  socket.destroy(error)
}
