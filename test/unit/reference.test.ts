import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatImageReference, isRepository, isTag, parseImageReference } from '../../src/oci/reference.js'
import { ZregError } from '../../src/errors.js'

test('repository names follow the distribution grammar', () => {
  const valid = ['alpine', 'library/alpine', 'a/b/c', 'a.b_c-d', 'a__b', 'a---b', 'docker.io/library/alpine', 'x1/y2', 'fixtures/awkward.name_with-seps/deep/path']
  const invalid = ['', 'Alpine', '-a', 'a-', 'a/', '/a', 'a//b', 'a..b', 'a___b', '_a', 'a b', 'a/../b', '..', 'a:b', 'a'.repeat(256)]
  for (const name of valid) assert.ok(isRepository(name), name)
  for (const name of invalid) assert.ok(!isRepository(name), name)
})

test('tags are word characters, dots and dashes, at most 128', () => {
  for (const tag of ['latest', '1.0', 'v1.0_RC-1', '_x', 'A'.repeat(128)]) assert.ok(isTag(tag), tag)
  for (const tag of ['', '.x', '-x', 'a/b', 'a:b', 'A'.repeat(129), '../x']) assert.ok(!isTag(tag), tag)
})

test('parseImageReference splits REPO:TAG and REPO@DIGEST', () => {
  const digest = `sha256:${'b'.repeat(64)}`
  assert.deepEqual(parseImageReference('a/b:1.0'), { repository: 'a/b', tag: '1.0' })
  assert.deepEqual(parseImageReference(`a/b@${digest}`), { repository: 'a/b', digest })
  assert.deepEqual(parseImageReference('a/b'), { repository: 'a/b' })
  assert.deepEqual(parseImageReference('a/b', { defaultTag: 'latest' }), { repository: 'a/b', tag: 'latest' })
  assert.equal(formatImageReference({ repository: 'a', tag: 't' }), 'a:t')
  const codes: [string, string][] = [['UPPER:1', 'NAME_INVALID'], ['a:b:c', 'NAME_INVALID'], ['a:bad!tag', 'TAG_INVALID'], ['a@sha256:12', 'USAGE']]
  for (const [text, code] of codes) {
    assert.throws(() => parseImageReference(text), (error: unknown) => error instanceof ZregError && error.code === code, text)
  }
})
