import { setTimeout as sleep } from 'node:timers/promises'
import { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { backoffDelay, isRetryableError, type RetryPolicy } from './retry-policy.js'
import { discardBody, type HttpResponse, type RetryEvent } from './retrying-request.js'
import { describeFailure } from './transport-error.js'

/** A body to continue from: `skip` leading bytes to drop (a 200 answer to a Range request starts at 0). */
export interface ResumedBody {
  response: HttpResponse
  skip: number
}

export interface ResumableBlobOptions {
  /** The blob's size from its descriptor: the stream is exactly this long or errors. */
  size: number
  /** The blob's URL and name, for messages. */
  url: string
  what: string
  policy: RetryPolicy
  /** Asks again from `offset` (a `Range: bytes=offset-` request), answering 206 or 200. */
  reopen: (offset: number) => Promise<ResumedBody>
  onRetry?: (event: RetryEvent) => void
}

/**
 * The body of a blob GET as a stream of exactly `size` bytes. When the connection breaks (reset,
 * closed, stalled past the body timeout) or the body ends short, it asks again from the byte where it
 * stopped and goes on, up to policy.attempts failures in a row (a try that brought bytes starts the
 * count again). Errors: SIZE_INVALID when the body is longer than `size`, or stays short; REMOTE_UNAVAILABLE
 * when the breaks outlast the retries. Nothing is buffered beyond the stream's own high-water mark.
 */
export function resumableBlob(first: HttpResponse, options: ResumableBlobOptions): Readable {
  const { size, policy } = options
  let body = first.body
  async function* bytes(): AsyncGenerator<Buffer> {
    let skip = 0
    let received = 0
    let failures = 0
    try {
      for (;;) {
        const before = received
        let reason: string
        let endedShort = false
        try {
          for await (const chunk of body) {
            let part = chunk as Buffer
            if (skip > 0) {
              if (part.length <= skip) {
                skip -= part.length
                continue
              }
              part = part.subarray(skip)
              skip = 0
            }
            if (received + part.length > size) {
              throw new ZregError('SIZE_INVALID', `${options.what}: the registry sent more than the ${size} bytes its descriptor gives (${options.url})`)
            }
            received += part.length
            yield part
          }
          if (received === size) return
          reason = `the body ended after ${received} of ${size} bytes`
          endedShort = true
        } catch (error) {
          if (error instanceof ZregError || !isRetryableError(error)) throw error
          reason = describeFailure(error)
        }
        failures = received > before ? 1 : failures + 1
        if (failures >= policy.attempts) {
          throw new ZregError(endedShort ? 'SIZE_INVALID' : 'REMOTE_UNAVAILABLE', `${options.what}: GET ${options.url} broke off ${failures} time${failures === 1 ? '' : 's'} in a row, at byte ${received} of ${size}; the last: ${reason}`)
        }
        const delayMs = backoffDelay(policy, failures)
        options.onRetry?.({ url: options.url, attempt: failures, delayMs, reason: `${reason}; resuming at byte ${received}` })
        await sleep(delayMs)
        discardBody(body)
        const resumed = await options.reopen(received)
        body = resumed.response.body
        skip = resumed.skip
      }
    } finally {
      discardBody(body)
    }
  }
  const stream = Readable.from(bytes(), { objectMode: false })
  // Destroyed before its first read, the generator never runs its finally: release the connection here.
  stream.once('close', () => discardBody(body))
  return stream
}
