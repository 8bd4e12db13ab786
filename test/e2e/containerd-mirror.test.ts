import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zregOk } from '../helpers/cli.js'
import { startContainerd, writeHostsDir, type Containerd } from '../helpers/containerd.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { startCaddy, startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'

const allManifestTypes = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'
const errorCode = (body: Buffer) => (JSON.parse(body.toString()) as { errors: { code: string }[] }).errors[0]?.code

interface MirrorCase {
  path: string
  status: number
  /** The OCI error code of a 404, or what a 200 must show. */
  check: string | ((body: Buffer, headers: Record<string, unknown>) => void)
}

/** An upstream registry that has nothing: what containerd falls back to after the mirror (no internet in tests). */
async function emptyUpstream(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    res.statusCode = 404
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

describe('containerd hosts.toml mirrors (?ns=)', () => {
  let single: FixtureImage
  let multiArch: FixtureImage
  let dir: string
  const namespaced: Record<string, TestServer> = {}
  const plain: Record<string, TestServer> = {}
  let containerd: Containerd
  let upstream: Awaited<ReturnType<typeof emptyUpstream>>

  before(async () => {
    const fixtures = await loadFixtures()
    single = fixtures.images.find((image) => image.id === 'oci/single')!
    multiArch = fixtures.images.find((image) => image.id === 'oci/multi-arch')!
    dir = await tempDir('mirror')
    // A namespaced registry, filled as a pull-through cache would be: the upstream registry first.
    const push = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--namespaced'])
    namespaced['zreg push --namespaced'] = push
    const copy = (source: string, target: string, extra: string[] = []) => execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', ...extra, absoluteSource(source), `docker://${push.authority}/${target}`])
    await copy(single.source, 'docker.io/library/app:1')
    await copy(multiArch.source, 'docker.io/library/multi:1', ['--all'])
    await copy(single.source, 'docker.io/short:1')
    await copy(single.source, 'quay.io/team/tool:2')
    namespaced['zreg serve'] = await startZregServe(join(dir, 'site'))
    namespaced.nginx = await startNginx(join(dir, 'site'))
    namespaced.caddy = await startCaddy(join(dir, 'site'))
    // A tree of plain names, mirroring one registry.
    const store = ['--store', join(dir, 'plain-store')]
    await zregOk(['add', absoluteSource(single.source), '--name', 'library/app:1', ...store])
    await zregOk(['build', ...store, '--out', join(dir, 'plain-site')])
    plain['zreg serve'] = await startZregServe(join(dir, 'plain-site'))
    plain.nginx = await startNginx(join(dir, 'plain-site'))
    plain.caddy = await startCaddy(join(dir, 'plain-site'))
    containerd = await startContainerd()
    upstream = await emptyUpstream()
  })
  after(async () => {
    await containerd?.stop()
    await upstream?.close()
    for (const server of [...Object.values(namespaced), ...Object.values(plain)]) await server.stop()
  })

  const manifestIs = (digest: string) => (_body: Buffer, headers: Record<string, unknown>) => assert.equal(headers['docker-content-digest'], digest)

  test('?ns= names the upstream registry: manifests, blobs, tags and referrers resolve, and anything missing is 404, never 400', async () => {
    const layer = single.blobs!.find((blob) => blob !== single.configDigest)!
    const unknown = `sha256:${'0'.repeat(64)}`
    const namespacedCases: MirrorCase[] = [
      { path: '/v2/library/app/manifests/1?ns=docker.io', status: 200, check: manifestIs(single.digest!) },
      { path: `/v2/library/app/manifests/${single.digest}?ns=docker.io`, status: 200, check: manifestIs(single.digest!) },
      { path: '/v2/library/multi/manifests/1?ns=docker.io', status: 200, check: manifestIs(multiArch.digest!) },
      { path: `/v2/library/app/blobs/${layer}?ns=docker.io`, status: 200, check: (_body, headers) => assert.equal(headers['docker-content-digest'], layer) },
      { path: '/v2/library/app/tags/list?ns=docker.io', status: 200, check: (body) => assert.deepEqual(JSON.parse(body.toString()), { name: 'docker.io/library/app', tags: ['1'] }) },
      { path: `/v2/library/app/referrers/${single.digest}?ns=docker.io`, status: 200, check: (body) => assert.deepEqual((JSON.parse(body.toString()) as { manifests: unknown[] }).manifests, []) },
      // containerd names docker.io/short as library/short.
      { path: '/v2/library/short/manifests/1?ns=docker.io', status: 200, check: manifestIs(single.digest!) },
      { path: '/v2/team/tool/manifests/2?ns=quay.io', status: 200, check: manifestIs(single.digest!) },
      { path: '/v2/library/nope/manifests/1?ns=docker.io', status: 404, check: 'MANIFEST_UNKNOWN' },
      { path: '/v2/library/app/manifests/2?ns=docker.io', status: 404, check: 'MANIFEST_UNKNOWN' },
      { path: `/v2/library/app/blobs/${unknown}?ns=docker.io`, status: 404, check: 'BLOB_UNKNOWN' },
      { path: `/v2/library/nope/blobs/${layer}?ns=docker.io`, status: 404, check: 'BLOB_UNKNOWN' },
      { path: '/v2/library/nope/tags/list?ns=docker.io', status: 404, check: 'NAME_UNKNOWN' },
      { path: '/v2/team/tool/manifests/2?ns=docker.io', status: 404, check: 'MANIFEST_UNKNOWN' },
      { path: '/v2/library/app/manifests/1?ns=localhost%3A5000', status: 404, check: 'MANIFEST_UNKNOWN' },
      { path: '/v2/library/app/manifests/1?ns=registry.k8s.io', status: 404, check: 'MANIFEST_UNKNOWN' },
    ]
    const plainCases: MirrorCase[] = [
      { path: '/v2/library/app/manifests/1?ns=docker.io', status: 200, check: manifestIs(single.digest!) },
      { path: '/v2/library/app/manifests/1?ns=localhost%3A5000', status: 200, check: manifestIs(single.digest!) },
      { path: `/v2/library/app/blobs/${layer}?ns=docker.io`, status: 200, check: (_body, headers) => assert.equal(headers['docker-content-digest'], layer) },
      { path: '/v2/library/nope/manifests/1?ns=docker.io', status: 404, check: 'MANIFEST_UNKNOWN' },
    ]
    for (const [servers, cases] of [[namespaced, namespacedCases], [plain, plainCases]] as const) {
      for (const [server, running] of Object.entries(servers)) {
        for (const { path, status, check } of cases) {
          const response = await rawRequest(running.url, 'GET', path, { Accept: allManifestTypes })
          const what = `${server}: GET ${path}`
          assert.equal(response.status, status, `${what}: ${response.body.toString().slice(0, 200)}`)
          if (typeof check === 'string') assert.equal(errorCode(response.body), check, what)
          else check(response.body, response.headers)
        }
      }
    }
  })

  test('ctr pulls through each server as a hosts.toml mirror, with and without override_path; a missing image is not found', async () => {
    for (const [server, running] of Object.entries(namespaced)) {
      for (const overridePath of [false, true]) {
        const label = `${server}${overridePath ? ' (override_path)' : ''}`
        const hostsDir = await writeHostsDir(await tempDir('hosts'), 'docker.io', running.url, upstream.url, { overridePath })
        const namespace = `mirror-${Object.keys(namespaced).indexOf(server)}-${overridePath ? 'override' : 'default'}`
        const pulled = await containerd.pull('docker.io/library/app:1', { hostsDir, namespace })
        assert.equal(pulled.exitCode, 0, `${label}: ${pulled.output}`)
        assert.equal(await containerd.imageDigest('docker.io/library/app:1', namespace), single.digest, label)
        const index = await containerd.pull('docker.io/library/multi:1', { hostsDir, namespace })
        assert.equal(index.exitCode, 0, `${label}: ${index.output}`)
        assert.equal(await containerd.imageDigest('docker.io/library/multi:1', namespace), multiArch.digest, label)

        const asked = upstream.requests.length
        const missing = await containerd.pull('docker.io/library/nope:1', { hostsDir, namespace })
        assert.notEqual(missing.exitCode, 0, label)
        assert.match(missing.output, /docker\.io\/library\/nope:1: not found/, `${label}: the mirror answered 404, so containerd went on to the upstream: ${missing.output}`)
        assert.ok(upstream.requests.length > asked, `${label}: containerd asked the upstream after the mirror's 404`)
      }
    }
    assert.ok(
      upstream.requests.every((request) => request.includes('/library/nope/')),
      `the upstream is asked only for the missing image: ${upstream.requests.join(', ')}`,
    )
  })
})
