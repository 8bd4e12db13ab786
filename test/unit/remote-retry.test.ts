import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffDelay, defaultRetryPolicy, isRetryableError, parseRetryAfter, retryableStatuses } from '../../src/remote/retry-policy.js'

test('Retry-After: delay-seconds and HTTP-dates (past ones are 0); anything else is ignored', () => {
  const now = Date.parse('Sun, 29 Nov 2026 21:00:00 GMT')
  const cases: [string | string[] | undefined, number | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    [['5', '9'], 5000],
    ['Sun, 29 Nov 2026 21:00:30 GMT', 30_000],
    ['Sunday, 29-Nov-26 21:01:00 GMT', 60_000],
    ['Sun, 29 Nov 2026 20:59:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2026', 2_026_000],
  ]
  for (const [value, expected] of cases) assert.equal(parseRetryAfter(value, now), expected, String(value))
})

test('backoff with full jitter stays within [0, min(max, base * 2^(n-1)))', () => {
  const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000 }
  const ceilings = [100, 200, 400, 800, 1000, 1000, 1000]
  ceilings.forEach((ceiling, i) => {
    assert.equal(backoffDelay(policy, i + 1, () => 0), 0)
    assert.equal(backoffDelay(policy, i + 1, () => 0.999999), ceiling - 1)
    for (let k = 0; k < 50; k++) {
      const delay = backoffDelay(policy, i + 1)
      assert.ok(delay >= 0 && delay < ceiling, `failure ${i + 1}: ${delay}`)
    }
  })
  assert.equal(backoffDelay(policy, 60, () => 0.5), 500, 'no overflow after many failures')
})

test('what is retried: 408, 429 and 5xx but 501; broken, refused and stalled connections, also as a cause', () => {
  assert.deepEqual([...retryableStatuses].sort(), [408, 429, 500, 502, 503, 504])
  const errno = (code: string) => Object.assign(new Error(code), { code })
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
    assert.ok(isRetryableError(errno(code)), code)
  }
  assert.ok(isRetryableError(new Error('fetch failed', { cause: errno('ECONNRESET') })))
  for (const code of ['ENOTFOUND', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EACCES']) assert.ok(!isRetryableError(errno(code)), code)
  assert.ok(!isRetryableError(new Error('plain')))
  assert.ok(!isRetryableError('a string'))
})
