import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import { ZregError } from '../errors.js'
import { backoffDelay, isRetryableError, parseRetryAfter, retryableStatuses, type RetryPolicy } from './retry-policy.js'
import { describeFailure, isConnectionRefused, transportError } from './transport-error.js'

export type HttpResponse = Dispatcher.ResponseData

export interface RetryEvent {
  url: string
  /** The attempt that failed, from 1. */
  attempt: number
  delayMs: number
  reason: string
}

/** What every request of one client shares. */
export interface RequestContext {
  dispatcher: Dispatcher
  policy: RetryPolicy
  /** The registry as users name it, for messages. */
  registry: string
  onRetry?: (event: RetryEvent) => void
}

export interface OutgoingRequest {
  url: URL
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH'
  headers: Record<string, string>
  /** The body, made anew for each attempt (a file stream cannot be sent twice). */
  body?: () => Readable | Buffer
  /** false: a transport failure is thrown at once (a probe that falls back to plain http); statuses are still retried. */
  retryTransport?: boolean
  /** false: a refused connection is thrown at once as CONNECTION_FAILED (the first contact: a wrong port, not a restart). */
  retryRefused?: boolean
}

/** The most of an error body read for a message: the registry's `{"errors":[...]}` is small. */
const errorBodyLimit = 16 * 1024

/**
 * Reads (and so releases) an error response's body: the registry's own words from an OCI error body
 * (`MANIFEST_UNKNOWN: manifest unknown`), else the start of the text; '' for none.
 */
export async function readErrorBody(response: HttpResponse): Promise<string> {
  let text = ''
  try {
    for await (const chunk of response.body) {
      if (text.length < errorBodyLimit) text += (chunk as Buffer).toString('utf8')
    }
  } catch {
    // The words are a courtesy; a broken error body changes nothing.
  }
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }
    const errors = (parsed.errors ?? []).map((e) => [e.code, e.message].filter((part) => typeof part === 'string' && part !== '').join(': '))
    if (errors.length > 0) return errors.join('; ')
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200)
}

/** Drops a body not (fully) read, releasing its connection; undici's abort error for it is expected, not reported. */
export function discardBody(body: HttpResponse['body']): void {
  if (body.destroyed) return
  body.on('error', () => undefined)
  body.destroy()
}

/** A header's first value. */
export function header(response: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Sends one request, retrying transport failures (reset, refused, timeouts, a stalled or cut body) and
 * the statuses of retryableStatuses with exponential backoff and full jitter, honouring `Retry-After`
 * up to policy.maxRetryAfterMs. `consume` handles every other answer and must read or dump its body;
 * a retryable transport error it throws (a body cut short) is retried too. Redirects are not followed.
 * Throws REMOTE_UNAVAILABLE naming the URL, the last failure and the attempts when retries run out;
 * TLS_FAILED, HOST_UNKNOWN and the like (transportError) at once for failures a retry does not mend.
 */
export async function sendRequest<T>(context: RequestContext, outgoing: OutgoingRequest, consume: (response: HttpResponse) => Promise<T>): Promise<T> {
  const { policy } = context
  const url = outgoing.url.href
  for (let attempt = 1; ; attempt++) {
    let reason: string
    let retryAfterMs: number | undefined
    try {
      const response = await request(outgoing.url, { dispatcher: context.dispatcher, method: outgoing.method, headers: outgoing.headers, ...(outgoing.body ? { body: outgoing.body() } : {}) })
      if (!retryableStatuses.has(response.statusCode)) return await consume(response)
      retryAfterMs = parseRetryAfter(response.headers['retry-after'])
      const words = await readErrorBody(response)
      reason = `${response.statusCode}${words ? ` ${words}` : ''}`
    } catch (error) {
      const final = !isRetryableError(error) || outgoing.retryTransport === false || (outgoing.retryRefused === false && isConnectionRefused(error))
      if (error instanceof ZregError || final) throw transportError(error, context.registry, url) ?? error
      reason = describeFailure(error)
    }
    if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
      throw new ZregError('REMOTE_UNAVAILABLE', `${outgoing.method} ${url} answered ${reason}, and asks to retry after ${Math.ceil(retryAfterMs / 1000)} s, longer than the ${Math.round(policy.maxRetryAfterMs / 1000)} s zreg waits`)
    }
    if (attempt >= policy.attempts) {
      throw new ZregError('REMOTE_UNAVAILABLE', `${outgoing.method} ${url} failed ${attempt} time${attempt === 1 ? '' : 's'}; the last: ${reason}`)
    }
    const delayMs = retryAfterMs ?? backoffDelay(policy, attempt)
    context.onRetry?.({ url, attempt, delayMs, reason })
    await sleep(delayMs)
  }
}
