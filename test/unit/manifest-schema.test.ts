import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { parseImageConfig, parseManifest } from '../../src/oci/manifest.js'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const descriptor = (mediaType: string, c: string) => ({ mediaType, digest: digest(c), size: 10 })
const ociManifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: descriptor('application/vnd.oci.image.config.v1+json', 'a'),
  layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', 'b')],
}
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value))
const fails = (code: string) => (error: unknown) => error instanceof ZregError && error.code === code

test('valid manifests and indexes of every supported kind parse', () => {
  assert.equal(parseManifest(bytes(ociManifest)).kind, 'image')
  const { mediaType: _, ...withoutMediaType } = ociManifest
  assert.equal(parseManifest(bytes(withoutMediaType)).mediaType, 'application/vnd.oci.image.manifest.v1+json')
  const artifact = { ...ociManifest, artifactType: 'application/x.test', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, subject: descriptor('application/vnd.oci.image.manifest.v1+json', 'c') }
  assert.equal(parseManifest(bytes(artifact)).kind, 'image')
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...descriptor('application/vnd.oci.image.manifest.v1+json', 'd'), platform: { os: 'linux', architecture: 'amd64' } }] }
  assert.equal(parseManifest(bytes(index)).kind, 'index')
  const docker = { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: descriptor('application/vnd.docker.container.image.v1+json', 'a'), layers: [descriptor('application/vnd.docker.image.rootfs.diff.tar.gzip', 'b')] }
  assert.equal(parseManifest(bytes(docker)).kind, 'image')
  const list = { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [{ ...descriptor('application/vnd.docker.distribution.manifest.v2+json', 'e'), platform: { os: 'linux', architecture: 'arm64' } }] }
  assert.equal(parseManifest(bytes(list)).kind, 'index')
})

test('invalid manifests are refused with MANIFEST_INVALID or DIGEST_INVALID', () => {
  const { config: _, ...noConfig } = ociManifest
  const cases: [string, unknown, string][] = [
    ['not JSON', '{', 'MANIFEST_INVALID'],
    ['an array', [], 'MANIFEST_INVALID'],
    ['no config', noConfig, 'MANIFEST_INVALID'],
    ['negative size', { ...ociManifest, layers: [{ ...ociManifest.layers[0], size: -1 }] }, 'MANIFEST_INVALID'],
    ['schemaVersion 1', { ...ociManifest, schemaVersion: 1 }, 'MANIFEST_INVALID'],
    ['unknown media type', { ...ociManifest, mediaType: 'application/x.nope' }, 'MANIFEST_INVALID'],
    ['sha1 digest', { ...ociManifest, layers: [{ ...ociManifest.layers[0], digest: `sha1:${'a'.repeat(40)}` }] }, 'DIGEST_INVALID'],
  ]
  for (const [name, value, code] of cases) {
    assert.throws(() => parseManifest(typeof value === 'string' ? Buffer.from(value) : bytes(value)), fails(code), name)
  }
  assert.throws(() => parseManifest(bytes(ociManifest), 'application/vnd.oci.image.index.v1+json'), fails('MANIFEST_INVALID'), 'descriptor disagrees')
  assert.throws(() => parseManifest(Buffer.alloc(4 * 1024 * 1024 + 1, 32)), fails('MANIFEST_INVALID'), 'over 4 MiB')
})

test('image configs are validated against the OCI config schema', () => {
  assert.equal(parseImageConfig(bytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })).os, 'linux')
  assert.throws(() => parseImageConfig(bytes({ architecture: 5 })), fails('CONFIG_INVALID'))
  assert.throws(() => parseImageConfig(Buffer.from('nope')), fails('CONFIG_INVALID'))
})
