import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isRecorded, parseRecord, serializeRecord, type PublishRecord } from '../../src/publish/publish-record.js'

const digest = `sha256:${'a'.repeat(64)}`
const other = `sha256:${'b'.repeat(64)}`
const record: PublishRecord = {
  objects: {
    [`v2/app/blobs/${digest}`]: { size: 3, digest, contentType: 'application/octet-stream', cacheControl: 'public, max-age=31536000, immutable' },
    'v2/app/manifests/1.0': { size: 400, digest: other, contentType: 'application/vnd.oci.image.manifest.v1+json', cacheControl: 'public, max-age=60' },
    'v2/app/tags/list': { size: 30, digest, contentType: 'application/json', cacheControl: 'public, max-age=60' },
  },
}

test('the stored record reads back as written, digests named by their key not repeated, headers stored once', () => {
  const text = serializeRecord(record)
  assert.deepEqual(parseRecord(text), record)
  const stored = JSON.parse(text) as { objects: Record<string, [number, string, number, number]>; cacheControls: string[] }
  assert.equal(stored.objects[`v2/app/blobs/${digest}`]![1], '')
  assert.equal(stored.objects['v2/app/tags/list']![1], digest)
  assert.deepEqual(stored.cacheControls, ['public, max-age=31536000, immutable', 'public, max-age=60'])
})

test('no record, or one not of this shape, is an empty record: everything is sent again', () => {
  for (const text of [undefined, '', 'not json', '{"format":1,"objects":{}}', '{"format":2}', 'null']) assert.deepEqual(parseRecord(text), { objects: {} }, String(text))
})

test('an object counts as published only with the same bytes and headers', () => {
  const object = { key: 'v2/app/manifests/1.0', file: '/dev/null', size: 400, digest: other, contentType: 'application/vnd.oci.image.manifest.v1+json', cacheControl: 'public, max-age=60', stage: 'tags' as const }
  assert.ok(isRecorded(record, object))
  assert.ok(!isRecorded(record, { ...object, digest }))
  assert.ok(!isRecorded(record, { ...object, cacheControl: 'no-cache' }))
  assert.ok(!isRecorded(record, { ...object, key: 'v2/app/manifests/2.0' }))
})
