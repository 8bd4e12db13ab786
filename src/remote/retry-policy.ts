/** How often and how long to retry a request that failed in a way that may pass. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The backoff's first ceiling; it doubles with each failure. */
  baseDelayMs: number
  /** The backoff's largest ceiling. */
  maxDelayMs: number
  /** The longest `Retry-After` honoured; a registry asking for more fails at once. */
  maxRetryAfterMs: number
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 }

/** Statuses that may pass on their own: timeouts, rate limits, a registry or proxy in trouble. */
export const retryableStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** Transport failures worth another try: the connection broke, was refused or stalled. */
const retryableErrorCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
])

export function isRetryableError(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as NodeJS.ErrnoException).code
    if (code !== undefined && retryableErrorCodes.has(code)) return true
  }
  return false
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): a
 * random delay in [0, min(maxDelayMs, baseDelayMs * 2^(failures-1))). `failures` counts from 1.
 */
export function backoffDelay(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1))
  return Math.floor(random() * ceiling)
}

/**
 * `Retry-After` (RFC 9110 section 10.2.3) in milliseconds from `now`: delay-seconds or an HTTP-date
 * (a date in the past is 0). undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (text === undefined || text === '') return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // HTTP-dates (IMF-fixdate, RFC 850, asctime) start with the day's name: a bare number or garbage is not one.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
