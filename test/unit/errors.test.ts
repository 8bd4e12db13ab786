import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { asZregError, errorTable, ZregError } from '../../src/errors.js'
import { repoRoot } from '../helpers/paths.js'

const ociCodes = ['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS', 'UNAVAILABLE', 'UNKNOWN', 'TAG_INVALID']

test('every error code has a valid OCI code, status, exit code and a hint, and is documented', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8')
  for (const [code, entry] of Object.entries(errorTable)) {
    assert.ok(ociCodes.includes(entry.oci), `${code}: ${entry.oci}`)
    assert.ok(entry.status >= 400 && entry.status < 600, code)
    assert.ok(entry.exit >= 1 && entry.exit <= 5, code)
    assert.ok(entry.hint.length > 10, code)
    assert.ok(readme.includes(`\`${code}\``), `README documents ${code}`)
  }
  assert.equal(new Set(Object.keys(errorTable)).size, Object.keys(errorTable).length)
})

test('unknown failures become INTERNAL', () => {
  assert.equal(asZregError(new Error('boom')).code, 'INTERNAL')
  const known = new ZregError('BLOB_UNKNOWN', 'x')
  assert.equal(asZregError(known), known)
  assert.equal(known.status, 404)
  assert.equal(known.exitCode, 3)
})
