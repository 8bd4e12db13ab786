import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { zregOk } from '../helpers/cli.js'
import { absoluteSource, loadFixtures, tempDir, type Fixtures } from '../helpers/paths.js'
import { pullSuite } from '../helpers/pull-suite.js'
import { rawRequest } from '../helpers/http.js'
import { copyTree, startCaddy } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'
import { filesMentioning } from '../helpers/tree.js'
import { podman } from '../helpers/podman.js'

// Caddy 2 with the Caddyfile `zreg server-config --for caddy --root <copy>` generated, over a `cp -a`
// copy of a tree built elsewhere: the read contract and skopeo pulls of every fixture.
let original = ''
let copy = ''
let config = ''
pullSuite('caddy with the generated Caddyfile, over a copy of the tree', async (site) => {
  original = site.site
  copy = await copyTree(site.site, 'caddy-copy')
  const server = await startCaddy(copy, { root: copy })
  config = server.config
  return server
})

test('no path of the tree it was built in is in the copy or in the Caddyfile', async () => {
  assert.ok(original && copy && config)
  assert.deepEqual(await filesMentioning(original, [copy, config]), [])
})

describe('podman pulls through caddy', () => {
  let server: Awaited<ReturnType<typeof startCaddy>>
  let fixtures: Fixtures
  let storage: string
  before(async () => {
    fixtures = await loadFixtures()
    server = await startCaddy(await copyTree((await sharedSite()).site, 'caddy-podman'))
    storage = await mkdtemp(join(tmpdir(), 'zreg-caddy-'))
  })
  after(async () => {
    await server?.stop()
    if (storage) await rm(storage, { recursive: true, force: true })
  })

  test('every image fixture, the multi-arch index included, with the digests the tree serves', async () => {
    const pull = podman(storage)
    const images = fixtures.images.filter((image) => image.id.startsWith('oci/') && image.artifactType === undefined)
    assert.ok(images.some((image) => image.id === 'oci/multi-arch'))
    for (const image of images) {
      const reference = `${server.authority}/${image.name}`
      const pulled = await pull(['pull', '--tls-verify=false', reference])
      assert.equal(pulled.exitCode, 0, `${reference}: ${pulled.stderr}`)
      const inspected = await pull(['image', 'inspect', '--format', '{{json .RepoDigests}}', reference])
      const digests = JSON.parse(inspected.stdout) as string[]
      assert.ok(digests.some((entry) => entry.endsWith(`@${image.digest}`)), `${reference}: ${image.digest} in ${inspected.stdout}`)
      if (image.configDigest) assert.equal(`sha256:${pulled.stdout.trim().split('\n').at(-1)}`, image.configDigest, reference)
    }
  })
})

test('after a rebuild and `caddy reload`, a new tag is served with its headers, with the same Caddyfile', async () => {
  const fixtures = await loadFixtures()
  const single = fixtures.images.find((image) => image.id === 'oci/single')!
  const dir = await tempDir('caddy-reload')
  const store = ['--store', join(dir, 'store')]
  const site = join(dir, 'site')
  await zregOk(['add', absoluteSource(single.source), '--name', 'app:1', ...store])
  await zregOk(['build', ...store, '--out', site])
  const server = await startCaddy(site)
  try {
    await zregOk(['add', absoluteSource(single.source), '--name', 'app:2', ...store])
    await zregOk(['build', ...store, '--out', site, '--cache-max-age', '0'])
    await server.reload()
    const response = await rawRequest(server.url, 'GET', '/v2/app/manifests/2', { Accept: single.mediaType! })
    assert.equal(response.status, 200)
    assert.equal(response.headers['docker-content-digest'], single.digest)
    assert.equal(response.headers['content-type'], single.mediaType)
    assert.equal(response.headers['cache-control'], 'no-cache')
  } finally {
    await server.stop()
  }
})

test('caddy sees every Accept line: a Go client naming the index on a later line gets it; one naming no index gets the default platform', async () => {
  const fixtures = await loadFixtures()
  const multiArch = fixtures.images.find((image) => image.id === 'oci/multi-arch')!
  const server = await startCaddy(await copyTree((await sharedSite()).site, 'caddy-accept'))
  try {
    const manifest = 'application/vnd.oci.image.manifest.v1+json'
    // Node sends an array as one header line per value, as Go's net/http does.
    const lines = (values: string[]) => ({ Accept: values }) as unknown as Record<string, string>
    const withIndex = await rawRequest(server.url, 'GET', '/v2/fixtures/multi-arch/manifests/1.0', lines([manifest, 'application/vnd.oci.image.index.v1+json']))
    assert.equal(withIndex.headers['docker-content-digest'], multiArch.digest)
    const withoutIndex = await rawRequest(server.url, 'GET', '/v2/fixtures/multi-arch/manifests/1.0', lines([manifest, 'application/vnd.docker.distribution.manifest.v2+json']))
    assert.equal(withoutIndex.headers['content-type'], manifest)
    assert.notEqual(withoutIndex.headers['docker-content-digest'], multiArch.digest)
    assert.equal(withoutIndex.headers['cache-control'], 'public, max-age=60', 'still a tag for caches')
  } finally {
    await server.stop()
  }
})

test('a tag naming an index without the default platform is unknown to a client that accepts no index, as in zreg serve and nginx', async () => {
  const multiArch = (await loadFixtures()).images.find((image) => image.id === 'oci/multi-arch')!
  const dir = await tempDir('caddy-no-platform')
  const store = ['--store', join(dir, 'store')]
  await zregOk(['add', absoluteSource(multiArch.source), '--name', 'multi:1', ...store])
  await zregOk(['build', ...store, '--out', join(dir, 'site'), '--default-platform', 'linux/s390x'])
  const server = await startCaddy(join(dir, 'site'))
  try {
    const plain = await rawRequest(server.url, 'GET', '/v2/multi/manifests/1')
    assert.equal(plain.status, 404)
    assert.equal((JSON.parse(plain.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_UNKNOWN')
    const index = await rawRequest(server.url, 'GET', '/v2/multi/manifests/1', { Accept: multiArch.mediaType! })
    assert.equal(index.headers['docker-content-digest'], multiArch.digest)
  } finally {
    await server.stop()
  }
})
