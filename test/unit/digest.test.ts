import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DigestCounter, digestOf, isDigest, parseDigest } from '../../src/oci/digest.js'
import { ZregError } from '../../src/errors.js'

test('isDigest accepts sha256 and sha512 and nothing looser', () => {
  const cases: [string, boolean][] = [
    [`sha256:${'a'.repeat(64)}`, true],
    [`sha512:${'0'.repeat(128)}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${'a'.repeat(63)}`, false],
    [`sha256:${'a'.repeat(64)}/../x`, false],
    [`md5:${'a'.repeat(32)}`, false],
    ['sha256:', false],
    ['', false],
    [`:${'a'.repeat(64)}`, false],
  ]
  for (const [value, expected] of cases) assert.equal(isDigest(value), expected, value)
})

test('parseDigest throws DIGEST_INVALID', () => {
  assert.throws(() => parseDigest('sha256:xyz'), (error: unknown) => error instanceof ZregError && error.code === 'DIGEST_INVALID')
})

test('DigestCounter hashes and counts chunks like digestOf the whole', () => {
  const counter = new DigestCounter()
  counter.update(Buffer.from('hello '))
  counter.update(Buffer.from('world'))
  assert.equal(counter.size, 11)
  assert.equal(counter.digest(), digestOf('hello world'))
  assert.equal(digestOf('{}'), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')
})
