import type { ServerResponse } from 'node:http'
import { asZregError, ZregError } from '../errors.js'

/** The distribution-spec error body: {"errors":[{code, message, detail}]}. */
export function ociErrorBody(error: ZregError): string {
  const entry: { code: string; message: string; detail?: unknown } = { code: error.ociCode, message: error.message }
  if (error.detail !== undefined) entry.detail = error.detail
  return JSON.stringify({ errors: [entry] })
}

/**
 * Writes any error as an OCI error response. Errors outside the table are internal: they are logged and
 * answered 500 without leaking their text.
 */
export function toOciResponse(res: ServerResponse, thrown: unknown, log: (line: string) => void = console.error): void {
  let error = asZregError(thrown)
  if (error.code === 'INTERNAL') {
    log(`zreg: internal error: ${(thrown as Error)?.stack ?? String(thrown)}`)
    error = new ZregError('INTERNAL', 'internal server error')
  }
  if (res.headersSent) {
    res.destroy()
    return
  }
  // Headers set for the file that could not be sent do not describe an error body.
  for (const header of ['Content-Range', 'Accept-Ranges', 'ETag', 'Docker-Content-Digest', 'Vary']) res.removeHeader(header)
  const body = ociErrorBody(error)
  res.statusCode = error.status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}
