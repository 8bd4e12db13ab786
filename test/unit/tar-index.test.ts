import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { safeEntryPath } from '../../src/ingest/tar-index.js'

test('safeEntryPath keeps entries inside the archive', () => {
  assert.equal(safeEntryPath('blobs/sha256/abc'), 'blobs/sha256/abc')
  assert.equal(safeEntryPath('./index.json'), 'index.json')
  assert.equal(safeEntryPath('blobs/'), 'blobs')
  assert.equal(safeEntryPath('a/../b'), 'b')
  for (const name of ['../x', '/etc/passwd', 'a/../../x', '..', 'a\\..\\..\\x', 'a\0b']) {
    assert.throws(() => safeEntryPath(name), (error: unknown) => error instanceof ZregError && error.code === 'UNSAFE_PATH', name)
  }
})
