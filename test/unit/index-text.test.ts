import assert from 'node:assert/strict'
import { test } from 'node:test'
import { indexTextParts } from '../../src/store/index-text.js'

test('an index written in parts is byte for byte JSON.stringify(index, null, 2), whatever the number of entries', () => {
  const entry = (i: number) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(i).padStart(64, '0')}`,
    size: i,
    ...(i % 3 === 0 ? { platform: { os: 'linux', architecture: 'arm64', 'os.features': ['a', 'b'] } } : {}),
    annotations: { 'org.opencontainers.image.ref.name': `r/${i}:t`, note: i % 2 ? 'é€😀 "quoted"\n' : '' },
    ...(i % 5 === 0 ? { urls: [], data: '' } : {}),
  })
  const head = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' }
  for (const [foreign, count] of [[0, 0], [1, 0], [0, 1], [0, 2], [2, 99], [0, 100], [3, 101], [0, 250]] as const) {
    const groups = [Array.from({ length: foreign }, (_, i) => ({ mediaType: 'application/x-other', digest: `sha256:${i}`, size: 1 })), Array.from({ length: count }, (_, i) => entry(i))]
    const index = { ...head, manifests: groups.flat() }
    assert.equal([...indexTextParts(head, groups)].join(''), `${JSON.stringify(index, null, 2)}\n`, `${foreign} + ${count} entries`)
  }
  assert.equal([...indexTextParts({}, [[entry(1)]])].join(''), `${JSON.stringify({ manifests: [entry(1)] }, null, 2)}\n`, 'no member before manifests')
})
