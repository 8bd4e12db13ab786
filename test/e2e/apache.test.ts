import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { adversarialCases, adversarialImages, checkCase, type Case } from '../helpers/adversarial-names.js'
import { apacheModes, deployToApache, startApache } from '../helpers/apache.js'
import { zregOk } from '../helpers/cli.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pullSuite } from '../helpers/pull-suite.js'
import type { TestServer } from '../helpers/servers.js'
import { sharedSite, type SharedSite } from '../helpers/shared-site.js'
import { podman } from '../helpers/podman.js'

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const allManifests = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'

/** A repository with repositories nested in each of its parts' directories (the tree makes those directories of links). */
const nestedImages: [string, string][] = [
  ['oci/multi-arch', 'nest/app:1'],
  ['oci/single', 'nest/app:list'],
  ['oci/single', 'nest/app/blobs:1'],
  ['oci/multi-layer', 'nest/app/manifests:1'],
  ['oci/single', 'nest/app/tags:1'],
  ['oci/single', 'nest/app/referrers:1'],
]

/** A namespaced mirror (zreg add --scoped names): what containerd's ?ns= requests resolve to. */
const scopedImages: [string, string][] = [
  ['oci/single', 'docker.io/library/app:1'],
  ['oci/multi-arch', 'docker.io/library/multi:1'],
  ['oci/single', 'docker.io/short:1'],
  ['oci/multi-layer', 'quay.io/team/tool:2'],
  ['oci/multi-layer', 'localhost-5000/team/port:3'],
]

let built: Promise<string> | undefined
/** Every fixture (the shared store), the adversarial names and the nested ones, built once for this file. */
function fullTree(shared: SharedSite, image: (id: string) => FixtureImage): Promise<string> {
  built ??= (async () => {
    const dir = await tempDir('apache-tree')
    const store = join(dir, 'store')
    await execa('cp', ['-a', shared.store, store])
    for (const [id, name] of [...adversarialImages, ...nestedImages, ...scopedImages]) await zregOk(['add', absoluteSource(image(id).source), '--name', name, '--store', store])
    await zregOk(['build', '--store', store, '--out', join(dir, 'site')])
    return join(dir, 'site')
  })()
  return built
}

for (const mode of apacheModes) {
  pullSuite(mode.name, async (shared) => {
    const fixtures = await loadFixtures()
    return deployToApache(mode, await fullTree(shared, (id) => fixtures.images.find((candidate) => candidate.id === id)!))
  })

  describe(`${mode.name}: adversarial names, nested repositories, podman`, () => {
    let server: TestServer & { root: string }
    let image: (id: string) => FixtureImage
    let fixtures: FixtureImage[]
    before(async () => {
      fixtures = (await loadFixtures()).images
      image = (id) => fixtures.find((candidate) => candidate.id === id)!
      server = await deployToApache(mode, await fullTree(await sharedSite(), image))
    })
    after(async () => server?.stop())

    test('answers each adversarial name exactly', async () => {
      for (const expected of adversarialCases(image)) await checkCase(mode.name, server.url, expected)
    })

    test('serves repositories nested in each part of another, and that one beside them', async () => {
      const single = image('oci/single')
      const layer = single.blobs!.find((blob) => blob !== single.configDigest)!
      const cases: Case[] = [
        { path: '/v2/nest/app/manifests/1', accept: allManifests, status: 200, digest: image('oci/multi-arch').digest! },
        { path: '/v2/nest/app/manifests/list', accept: allManifests, status: 200, digest: single.digest! },
        { path: '/v2/nest/app/tags/list', status: 200, body: { name: 'nest/app', tags: ['1', 'list'] } },
        { path: '/v2/nest/app/manifests/manifests/1', accept: allManifests, status: 200, digest: image('oci/multi-layer').digest! },
        { path: '/v2/nest/app/manifests/tags/list', status: 200, body: { name: 'nest/app/manifests', tags: ['1'] } },
        { path: '/v2/nest/app/tags/tags/list', status: 200, body: { name: 'nest/app/tags', tags: ['1'] } },
        { path: '/v2/nest/app/blobs/manifests/1', accept: allManifests, status: 200, digest: single.digest! },
        { path: `/v2/nest/app/blobs/blobs/${layer}`, status: 200, digest: layer },
        { path: '/v2/nest/app/referrers/manifests/1', accept: allManifests, status: 200, digest: single.digest! },
        { path: '/v2/nest/app/manifests/manifests/list', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
        { path: '/v2/nest/app/manifests/.htaccess', status: 404 },
      ]
      for (const expected of cases) await checkCase(mode.name, server.url, expected)
      const tagList = await rawRequest(server.url, 'GET', '/v2/nest/app/manifests/tags/list')
      assert.equal(tagList.headers['content-type'], 'application/json', 'a tag list in a directory of manifests is no manifest')
      assert.equal(tagList.headers['docker-content-digest'], undefined)
      // The index's default platform, for a client that accepts no index, in a directory of links too.
      const fallback = await rawRequest(server.url, 'GET', '/v2/nest/app/manifests/1')
      assert.equal(fallback.status, 200)
      assert.equal(fallback.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json')
      assert.equal(fallback.headers['docker-content-digest'], sha256(fallback.body))
      assert.equal(fallback.headers['cache-control'], 'public, max-age=60', 'as short-lived as the tag it answers for')
    })

    test('a containerd mirror request (?ns=) is answered from <ns>/<name>, docker.io/<short name> or <name>, as zreg serve does', async () => {
      const single = image('oci/single').digest!
      const multiLayer = image('oci/multi-layer').digest!
      const layer = image('oci/single').blobs!.find((blob) => blob !== image('oci/single').configDigest)!
      const cases: Case[] = [
        { path: '/v2/library/app/manifests/1?ns=docker.io', accept: allManifests, status: 200, digest: single },
        { path: `/v2/library/app/blobs/${layer}?ns=docker.io`, status: 200, digest: layer },
        { path: '/v2/library/app/tags/list?ns=docker.io', status: 200, body: { name: 'docker.io/library/app', tags: ['1'] } },
        { path: `/v2/library/app/referrers/${single}?ns=docker.io`, status: 200, body: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] } },
        { path: '/v2/library/multi/manifests/1?ns=docker.io', accept: allManifests, status: 200, digest: image('oci/multi-arch').digest! },
        { path: '/v2/library/short/manifests/1?ns=docker.io', accept: allManifests, status: 200, digest: single },
        { path: '/v2/team/tool/manifests/2?ns=quay.io', accept: allManifests, status: 200, digest: multiLayer },
        { path: '/v2/team/port/manifests/3?ns=localhost%3A5000', accept: allManifests, status: 200, digest: multiLayer },
        { path: '/v2/team/port/manifests/3?x=1&ns=localhost:5000', accept: allManifests, status: 200, digest: multiLayer },
        { path: '/v2/library/nope/manifests/1?ns=docker.io', status: 404, code: 'MANIFEST_UNKNOWN' },
        { path: '/v2/library/app/manifests/2?ns=docker.io', status: 404, code: 'MANIFEST_UNKNOWN' },
        { path: `/v2/library/nope/blobs/${layer}?ns=docker.io`, status: 404, code: 'BLOB_UNKNOWN' },
        { path: '/v2/library/nope/tags/list?ns=docker.io', status: 404, code: 'NAME_UNKNOWN' },
        { path: '/v2/team/tool/manifests/2?ns=docker.io', status: 404, code: 'MANIFEST_UNKNOWN' },
        { path: '/v2/library/app/manifests/1?ns=registry.k8s.io', status: 404, code: 'MANIFEST_UNKNOWN' },
        // A plain name the tree has answers for itself, whatever the registry.
        { path: '/v2/fixtures/single/manifests/1.0?ns=ghcr.io', accept: allManifests, status: 200, digest: image('oci/single').digest! },
      ]
      for (const expected of cases) await checkCase(mode.name, server.url, expected)
    })

    test('an Accept that admits only image manifests, or the index with q=0, gets the default platform', async () => {
      for (const accept of ['application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.index.v1+json;q=0, application/vnd.oci.image.manifest.v1+json']) {
        const response = await rawRequest(server.url, 'GET', '/v2/fixtures/multi-arch/manifests/1.0', { Accept: accept })
        assert.equal(response.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json', accept)
        assert.notEqual(response.headers['docker-content-digest'], image('oci/multi-arch').digest, accept)
      }
    })

    test('the catalog page is served at / and /index.html as text/html when the tree has one', async () => {
      // zreg build may write the page itself: then the test's page replaces it.
      if (!existsSync(join(server.root, 'index.html'))) {
        for (const path of ['/', '/index.html']) assert.equal((await rawRequest(server.url, 'GET', path)).status, 404, `${path} without a page`)
      }
      await writeFile(join(server.root, 'index.html'), '<!doctype html><title>zreg</title>', { mode: 0o644 })
      for (const path of ['/', '/index.html']) {
        const page = await rawRequest(server.url, 'GET', path)
        assert.equal(page.status, 200, path)
        assert.match(String(page.headers['content-type']), /^text\/html/, path)
        assert.equal(page.body.toString(), '<!doctype html><title>zreg</title>')
      }
    })

    test('podman pulls the fixtures with the source digests', async () => {
      const storage = await mkdtemp(join(tmpdir(), 'zreg-apache-'))
      try {
        const pull = podman(storage)
        for (const fixture of fixtures.filter((candidate) => candidate.id === 'oci/single' || candidate.id === 'oci/multi-arch' || candidate.id === 'oci/docker-v2')) {
          const pulled = await pull(['pull', '--tls-verify=false', `${server.authority}/${fixture.name}`])
          assert.equal(pulled.exitCode, 0, pulled.stderr)
          const inspected = await pull(['image', 'inspect', '--format', '{{.Digest}}', `${server.authority}/${fixture.name}`])
          assert.equal(inspected.stdout.trim(), fixture.digest, fixture.name)
        }
      } finally {
        await rm(storage, { recursive: true, force: true })
      }
    })
  })
}

describe('Apache 2.4 serves each new build of the tree it was configured for, with no reload', () => {
  for (const mode of apacheModes) {
    test(`${mode.name}: a tag moved to a manifest of another media type, and a new tag`, async () => {
      const fixtures = (await loadFixtures()).images
      const image = (id: string) => fixtures.find((candidate) => candidate.id === id)!
      const dir = await tempDir('apache-rebuild')
      await chmod(dir, 0o755)
      const store = ['--store', join(dir, 'store')]
      const root = join(dir, 'site')
      const build = async () => {
        await zregOk(['build', ...store, '--out', root])
        await execa('chmod', ['-R', 'a+rX', root])
      }
      await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'app:1', ...store])
      await build()
      const config = await mode.host.configure({ root, tree: root, listen: '127.0.0.1:8080' })
      const server = await startApache({ site: await mode.install(root, dir, config.files) })
      try {
        await checkCase(mode.name, server.url, { path: '/v2/app/manifests/1', accept: allManifests, status: 200, digest: image('oci/single').digest! })
        const dockerV2 = image('oci/docker-v2')
        await zregOk(['add', absoluteSource(dockerV2.source), '--name', 'app:1', ...store])
        await zregOk(['add', absoluteSource(image('oci/multi-arch').source), '--name', 'app:2', ...store])
        await build()
        const moved = await rawRequest(server.url, 'GET', '/v2/app/manifests/1', { Accept: allManifests })
        assert.equal(moved.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json')
        assert.equal(moved.headers['docker-content-digest'], dockerV2.digest)
        assert.equal(sha256(moved.body), dockerV2.digest)
        await checkCase(mode.name, server.url, { path: '/v2/app/manifests/2', accept: allManifests, status: 200, digest: image('oci/multi-arch').digest! })
        const fallback = await rawRequest(server.url, 'GET', '/v2/app/manifests/2')
        assert.equal(fallback.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json')
        assert.equal(fallback.headers['docker-content-digest'], sha256(fallback.body))
        assert.deepEqual(JSON.parse((await rawRequest(server.url, 'GET', '/v2/app/tags/list')).body.toString()), { name: 'app', tags: ['1', '2'] })
      } finally {
        await server.stop()
      }
    })
  }
})
