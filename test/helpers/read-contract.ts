import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Fixtures } from './paths.js'
import { rawRequest, type RawResponse } from './http.js'

const oci = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
}
const docker = { manifest: 'application/vnd.docker.distribution.manifest.v2+json' }
const allManifestTypes = [oci.manifest, oci.index, docker.manifest, 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ')

export interface ContractCase {
  name: string
  method?: string
  path: string
  headers?: Record<string, string>
  /** The status, or the statuses a server may choose between. */
  status: number | number[]
  /** Only for these servers (a behaviour plain nginx cannot have). */
  only?: string[]
  check?: (response: RawResponse) => void
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

function json(response: RawResponse): unknown {
  return JSON.parse(response.body.toString('utf8'))
}

function errorCode(code: string) {
  return (response: RawResponse) => {
    assert.match(String(response.headers['content-type']), /^application\/json/)
    const body = json(response) as { errors: { code: string }[] }
    assert.equal(body.errors[0]?.code, code)
  }
}

function manifestIs(digest: string, size: number, mediaType: string, withBody = true) {
  return (response: RawResponse) => {
    assert.equal(response.headers['content-type'], mediaType)
    assert.equal(response.headers['docker-content-digest'], digest)
    assert.equal(Number(response.headers['content-length']), size)
    if (withBody) assert.equal(sha256(response.body), digest)
    else assert.equal(response.body.length, 0)
  }
}

/**
 * The read side of the distribution-spec as one table, run against every server that serves a built
 * tree (zreg serve, nginx with the generated configuration) so they cannot drift apart.
 */
export function readContract(fixtures: Fixtures): ContractCase[] {
  const image = (id: string) => fixtures.images.find((candidate) => candidate.id === id)!
  const single = image('oci/single')
  const multiArch = image('oci/multi-arch')
  const sbom = image('oci/sbom')
  const dockerV2 = image('oci/docker-v2')
  const layer = single.blobs!.find((blob) => blob !== single.configDigest)!
  const unknown = `sha256:${'0'.repeat(64)}`
  return [
    {
      name: 'API version check',
      path: '/v2/',
      status: 200,
      check: (r) => {
        assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0')
        assert.deepEqual(json(r), {})
      },
    },
    {
      name: 'catalog lists every repository, sorted',
      path: '/v2/_catalog',
      status: 200,
      check: (r) => {
        const repositories = (json(r) as { repositories: string[] }).repositories
        assert.ok(repositories.includes('fixtures/single') && repositories.includes('fixtures/awkward.name_with-seps/deep/path'))
        assert.deepEqual([...repositories].sort(), repositories)
      },
    },
    { name: 'tags list', path: '/v2/fixtures/single/tags/list', status: 200, check: (r) => assert.deepEqual(json(r), { name: 'fixtures/single', tags: ['1.0', 'sbom'] }) },
    // Cache-Control for a CDN in front: what is named by digest never changes; what a build changes, 60 s (the default).
    { name: 'a blob is immutable for caches', path: `/v2/fixtures/single/blobs/${layer}`, status: 200, check: (r) => assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable') },
    { name: 'a manifest by digest is immutable for caches', method: 'HEAD', path: `/v2/fixtures/single/manifests/${single.digest}`, headers: { Accept: allManifestTypes }, status: 200, check: (r) => assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable') },
    { name: 'a manifest by tag is kept a short while', method: 'HEAD', path: '/v2/fixtures/single/manifests/1.0', headers: { Accept: allManifestTypes }, status: 200, check: (r) => assert.equal(r.headers['cache-control'], 'public, max-age=60') },
    { name: 'tag lists, the catalog and /v2/ too', path: '/v2/fixtures/single/tags/list', status: 200, check: (r) => assert.equal(r.headers['cache-control'], 'public, max-age=60') },
    { name: 'the catalog is kept a short while', path: '/v2/_catalog', status: 200, check: (r) => assert.equal(r.headers['cache-control'], 'public, max-age=60') },
    { name: 'errors carry no cache lifetime', path: `/v2/fixtures/single/blobs/${unknown}`, status: 404, check: (r) => assert.equal(r.headers['cache-control'], undefined) },
    { name: 'unknown query parameters are ignored', path: '/v2/fixtures/single/tags/list?cache=no', status: 200, check: (r) => assert.deepEqual(json(r), { name: 'fixtures/single', tags: ['1.0', 'sbom'] }) },
    {
      name: 'tags list pages with n, last and a Link to the next page',
      path: '/v2/fixtures/single/tags/list?n=1',
      status: 200,
      only: ['zreg serve'],
      check: (r) => {
        assert.deepEqual(json(r), { name: 'fixtures/single', tags: ['1.0'] })
        assert.equal(r.headers.link, '</v2/fixtures/single/tags/list?n=1&last=1.0>; rel="next"')
      },
    },
    { name: 'the last page', path: '/v2/fixtures/single/tags/list?n=1&last=1.0', status: 200, only: ['zreg serve'], check: (r) => assert.equal(r.headers.link, undefined) },
    { name: 'catalog pages too', path: '/v2/_catalog?n=2', status: 200, only: ['zreg serve'], check: (r) => assert.equal((json(r) as { repositories: string[] }).repositories.length, 2) },
    { name: 'manifest by tag', path: '/v2/fixtures/single/manifests/1.0', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(single.digest!, single.size!, oci.manifest) },
    { name: 'HEAD manifest by tag', method: 'HEAD', path: '/v2/fixtures/single/manifests/1.0', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(single.digest!, single.size!, oci.manifest, false) },
    { name: 'manifest by digest', path: `/v2/fixtures/single/manifests/${single.digest}`, headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(single.digest!, single.size!, oci.manifest) },
    { name: 'docker schema2 manifest keeps its media type', path: '/v2/fixtures/docker-v2/manifests/1.0', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(dockerV2.digest!, dockerV2.size!, docker.manifest) },
    { name: 'index by tag when the client accepts indexes', path: '/v2/fixtures/multi-arch/manifests/1.0', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(multiArch.digest!, multiArch.size!, oci.index) },
    {
      name: 'index tag falls back to linux/amd64 for clients that accept no index',
      path: '/v2/fixtures/multi-arch/manifests/1.0',
      status: 200,
      check: (r) => {
        assert.match(String(r.headers.vary), /Accept/, 'caches must keep the answers per Accept apart')
        assert.equal(r.headers['content-type'], oci.manifest)
        assert.equal(r.headers['docker-content-digest'], sha256(r.body))
        assert.notEqual(r.headers['docker-content-digest'], multiArch.digest)
      },
    },
    {
      name: 'index tag falls back for a client that accepts only image manifests',
      path: '/v2/fixtures/multi-arch/manifests/1.0',
      headers: { Accept: `${oci.manifest}, ${docker.manifest}` },
      status: 200,
      only: ['zreg serve'],
      check: (r) => {
        assert.equal(r.headers['content-type'], oci.manifest)
        assert.equal(r.headers['docker-content-digest'], sha256(r.body))
        assert.notEqual(r.headers['docker-content-digest'], multiArch.digest)
      },
    },
    { name: 'index by digest is the index whatever the Accept', path: `/v2/fixtures/multi-arch/manifests/${multiArch.digest}`, headers: { Accept: oci.manifest }, status: 200, check: manifestIs(multiArch.digest!, multiArch.size!, oci.index) },
    {
      name: 'blob',
      path: `/v2/fixtures/single/blobs/${layer}`,
      status: 200,
      check: (r) => {
        assert.equal(r.headers['docker-content-digest'], layer)
        assert.equal(r.headers['content-type'], 'application/octet-stream')
        assert.equal(sha256(r.body), layer)
      },
    },
    {
      name: 'blob range',
      path: `/v2/fixtures/single/blobs/${layer}`,
      headers: { Range: 'bytes=0-9' },
      status: 206,
      check: (r) => {
        assert.equal(r.body.length, 10)
        assert.match(String(r.headers['content-range']), /^bytes 0-9\/\d+$/)
      },
    },
    { name: 'one-byte range', path: `/v2/fixtures/single/blobs/${layer}`, headers: { Range: 'bytes=0-0' }, status: 206, check: (r) => assert.equal(r.body.length, 1) },
    { name: 'suffix range', path: `/v2/fixtures/single/blobs/${layer}`, headers: { Range: 'bytes=-5' }, status: 206, check: (r) => assert.equal(r.body.length, 5) },
    { name: 'a malformed range is ignored', path: `/v2/fixtures/single/blobs/${layer}`, headers: { Range: 'bytes=5-2' }, status: 200, only: ['zreg serve'] },
    {
      name: 'an Accept entry with q=0 does not admit an index',
      path: '/v2/fixtures/multi-arch/manifests/1.0',
      headers: { Accept: `${oci.index};q=0, ${oci.manifest}` },
      status: 200,
      only: ['zreg serve'],
      check: (r) => assert.equal(r.headers['content-type'], oci.manifest),
    },
    {
      name: 'If-None-Match with a list of ETags',
      path: '/v2/fixtures/single/manifests/1.0',
      headers: { Accept: allManifestTypes, 'If-None-Match': `"sha256:${'1'.repeat(64)}", "${single.digest}"` },
      status: 304,
      only: ['zreg serve'],
    },
    { name: 'unsatisfiable range', path: `/v2/fixtures/single/blobs/${layer}`, headers: { Range: 'bytes=999999-' }, status: 416 },
    { name: 'unknown tag', path: '/v2/fixtures/single/manifests/nope', status: 404, check: errorCode('MANIFEST_UNKNOWN') },
    { name: 'unknown repository manifest', path: '/v2/no/such/manifests/1.0', status: 404, check: errorCode('MANIFEST_UNKNOWN') },
    { name: 'unknown blob', path: `/v2/fixtures/single/blobs/${unknown}`, status: 404, check: errorCode('BLOB_UNKNOWN') },
    { name: 'blob of another repository is unknown here', path: `/v2/fixtures/multi-layer/blobs/${sbom.blobs!.find((blob) => blob !== sbom.configDigest)}`, status: 404, check: errorCode('BLOB_UNKNOWN') },
    { name: 'unknown repository tags', path: '/v2/no/such/tags/list', status: 404, check: errorCode('NAME_UNKNOWN') },
    // containerd mirrors name the upstream registry in ?ns=; a tree of plain names answers by the plain name.
    { name: 'a containerd mirror request of a plain-name tree', path: '/v2/fixtures/single/manifests/1.0?ns=docker.io', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(single.digest!, single.size!, oci.manifest) },
    { name: 'a containerd mirror request from a registry with a port, of a plain-name tree', path: '/v2/fixtures/single/manifests/1.0?ns=localhost%3A5000', headers: { Accept: allManifestTypes }, status: 200, check: manifestIs(single.digest!, single.size!, oci.manifest) },
    { name: 'a containerd mirror request of a blob', method: 'HEAD', path: `/v2/fixtures/single/blobs/${layer}?ns=quay.io`, status: 200, check: (r) => assert.equal(r.headers['docker-content-digest'], layer) },
    { name: 'a containerd mirror request of a missing image is 404, never 400', path: '/v2/library/nope/manifests/1?ns=docker.io', status: 404, check: errorCode('MANIFEST_UNKNOWN') },
    { name: 'a containerd mirror request of a missing blob', path: `/v2/library/nope/blobs/${unknown}?ns=docker.io`, status: 404, check: errorCode('BLOB_UNKNOWN') },
    { name: 'DELETE is unsupported', method: 'DELETE', path: `/v2/fixtures/single/manifests/${single.digest}`, status: 405, check: errorCode('UNSUPPORTED') },
    { name: 'uploads are unsupported', method: 'POST', path: '/v2/fixtures/single/blobs/uploads/', status: 405, check: errorCode('UNSUPPORTED') },
    { name: 'dot-dot traversal', path: '/v2/fixtures/single/manifests/../../../../../../etc/passwd', status: [400, 404] },
    { name: 'encoded traversal', path: '/v2/fixtures/single/blobs/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', status: [400, 404] },
    { name: 'encoded dots', path: '/v2/%2e%2e/%2e%2e/%2e%2e/etc/passwd', status: [400, 404] },
    { name: 'link out of the tree', path: '/v2/fixtures/single/manifests/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', status: [400, 404] },
    { name: 'metadata is not served', path: '/.zreg/site.json', status: 404 },
    // zreg build writes Apache's rules beside each repository's manifests: no tag, no content.
    { name: 'a hidden file of the tree is no manifest', path: '/v2/fixtures/single/manifests/.htaccess', headers: { Accept: allManifestTypes }, status: 404 },
    {
      name: 'referrers lists the artifact that names the image as subject',
      path: `/v2/fixtures/single/referrers/${single.digest}`,
      status: 200,
      check: (r) => {
        assert.equal(r.headers['content-type'], oci.index)
        const index = json(r) as { manifests: { digest: string; artifactType?: string }[] }
        assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType]), [[sbom.digest, sbom.artifactType]])
      },
    },
    { name: 'referrers of a digest nothing refers to is an empty index', path: `/v2/fixtures/single/referrers/${unknown}`, status: 200, check: (r) => assert.deepEqual((json(r) as { manifests: unknown[] }).manifests, []) },
  ]
}

export async function runReadContract(base: string, server: string, cases: ContractCase[]): Promise<void> {
  for (const testCase of cases) {
    if (testCase.only && !testCase.only.includes(server)) continue
    const response = await rawRequest(base, testCase.method ?? 'GET', testCase.path, testCase.headers)
    try {
      const allowed = Array.isArray(testCase.status) ? testCase.status : [testCase.status]
      assert.ok(allowed.includes(response.status), `status ${response.status}: ${response.body.toString().slice(0, 200)}`)
      testCase.check?.(response)
    } catch (error) {
      throw new Error(`${testCase.name} (${testCase.method ?? 'GET'} ${testCase.path}): ${(error as Error).message}`, { cause: error })
    }
  }
}

/** Conditional GET with the ETag a server gave: 304. */
export async function checkConditionalGet(base: string, path: string): Promise<void> {
  const first = await rawRequest(base, 'GET', path, { Accept: allManifestTypes })
  const etag = first.headers.etag
  assert.ok(etag, 'an ETag header')
  const second = await rawRequest(base, 'GET', path, { Accept: allManifestTypes, 'If-None-Match': etag })
  assert.equal(second.status, 304)
}
