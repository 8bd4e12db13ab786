import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { lstat, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { rawRequest, type RawResponse } from '../helpers/http.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { copyTree, startCaddy, startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const errorOf = (response: RawResponse) => (JSON.parse(response.body.toString()) as { errors: { code: string; message: string }[] }).errors[0]!
const ociManifest = 'application/vnd.oci.image.manifest.v1+json'
const nested = ['app/blobs', 'app/tags', 'app/manifests', 'app/referrers', 'app/blobs/deeper/still', 'app/manifests/other', 'app/tags/lists']

/** A tiny image pushed over the HTTP API: its blobs into `repository`, then its manifest as `reference` (or by digest). */
async function pushImage(url: string, repository: string, reference?: string, marker = 'x'): Promise<{ response: RawResponse; digest: string }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { marker } } }))
  const layer = Buffer.from(`layer of ${marker}`)
  for (const blob of [config, layer]) {
    const uploaded = await rawRequest(url, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, {}, { body: blob })
    assert.equal(uploaded.status, 201, `upload into ${repository}`)
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  })
  const response = await rawRequest(url, 'PUT', `/v2/${repository}/manifests/${reference ?? sha256(manifest)}`, { 'Content-Type': ociManifest }, { body: manifest })
  return { response, digest: sha256(manifest) }
}

/** What a plain file server publishing the literal tree serves for `repository:tag`: its tag list, manifest and blobs. */
async function checkLiteralTree(site: string, repository: string, tag: string, image: FixtureImage): Promise<void> {
  const root = join(site, 'v2', repository)
  const list = JSON.parse(await readFile(join(root, 'tags', 'list'), 'utf8')) as { name: string; tags: string[] }
  assert.equal(list.name, repository)
  assert.ok(list.tags.includes(tag), `${repository} lists ${tag}`)
  assert.equal(sha256(await readFile(join(root, 'manifests', tag))), image.digest, `${repository}/manifests/${tag}`)
  assert.equal(sha256(await readFile(join(root, 'manifests', image.digest!))), image.digest)
  for (const blob of image.blobs!) assert.equal(sha256(await readFile(join(root, 'blobs', blob))), blob, `${repository}/blobs/${blob}`)
}

describe('names the tree cannot hold never break the store', () => {
  let single: FixtureImage
  let dir: string
  let push: TestServer
  before(async () => {
    single = (await loadFixtures()).images.find((image) => image.id === 'oci/single')!
    dir = await tempDir('tree-names')
    push = await startZregPush(join(dir, 'store'), join(dir, 'site'))
  })
  after(async () => push?.stop())

  test('push mode holds app beside app/blobs, app/tags, app/manifests, app/referrers; every server (Caddy over a copy too) serves them all', async () => {
    for (const repository of ['app', ...nested]) {
      await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', absoluteSource(single.source), `docker://${push.authority}/${repository}:1`])
    }
    const site = join(dir, 'site')
    const serve = await startZregServe(site)
    const nginx = await startNginx(site)
    const copy = await copyTree(site, 'tree-names-copy')
    const caddy = await startCaddy(copy, { root: copy })
    const pulls = await tempDir('tree-names-pull')
    try {
      for (const server of [push, serve, nginx, caddy]) {
        for (const repository of ['app', ...nested]) {
          const digest = await skopeoPull(`docker://${server.authority}/${repository}:1`, join(pulls, `${server.authority}-${repository.replace(/\//g, '_')}`))
          assert.equal(digest, single.digest, `${repository}:1 from ${server.url}`)
        }
        const catalog = JSON.parse((await rawRequest(server.url, 'GET', '/v2/_catalog')).body.toString()) as { repositories: string[] }
        assert.deepEqual(catalog.repositories, ['app', ...nested].sort())
      }
      for (const repository of ['app', ...nested]) await checkLiteralTree(site, repository, '1', single)
    } finally {
      await serve.stop()
      await nginx.stop()
      await caddy.stop()
    }
  })

  test('names that truly collide are refused with 400 NAME_INVALID before anything is committed', async () => {
    const store = join(dir, 'store')
    const refused: [string, string | undefined, RegExp][] = [
      ['app/tags/list', '1', /app\/tags\/list.*tag list of "app"/],
      ['app/tags/list/deep', '1', /tag list of "app"/],
      ['app/manifests/1', '1', /manifest of "app:1"/],
      ['app/manifests/1/deep', undefined, /manifest of "app:1"/],
      ['app', 'blobs', /"app:blobs" would be a file where "app\/manifests" has its blobs\/ directory/],
      ['app', 'referrers', /referrers\/ directory/],
      ['app', 'other', /"app\/manifests\/other" needs a directory where \/v2\/app\/manifests\/other, the manifest of "app:other", is/],
      ['index.html', '1', /v2\/index.html/],
    ]
    const index = await readFile(join(store, 'index.json'), 'utf8')
    const generation = (await rawRequest(push.url, 'GET', '/v2/_catalog')).body.toString()
    for (const [repository, tag, message] of refused) {
      const { response, digest } = await pushImage(push.url, repository, tag, `${repository}:${tag}`)
      assert.equal(response.status, 400, `${repository}:${tag}`)
      assert.equal(errorOf(response).code, 'NAME_INVALID')
      assert.match(errorOf(response).message, message)
      assert.ok(!existsSync(join(store, 'blobs', 'sha256', digest.slice('sha256:'.length))), 'the manifest is not stored')
      assert.equal(await readFile(join(store, 'index.json'), 'utf8'), index, `${repository}:${tag} changed nothing`)
    }
    assert.equal((await rawRequest(push.url, 'GET', '/v2/_catalog')).body.toString(), generation)
    // Two pushes racing for one path: the check runs under the index lock, so exactly one wins.
    const won: string[] = []
    for (let i = 0; i < 4; i++) {
      const pushes = await Promise.all([pushImage(push.url, 'app', `race${i}`, `tag${i}`), pushImage(push.url, `app/manifests/race${i}`, '1', `repo${i}`)])
      assert.deepEqual(pushes.map(({ response }) => response.status).sort(), [201, 400], `race ${i}`)
      if (pushes[0].response.status === 201) won.push(`race${i}`)
    }
    // The names the tree can hold still push, and the tree keeps up.
    const accepted = await pushImage(push.url, 'app', 'Blobs', 'case')
    assert.equal(accepted.response.status, 201)
    assert.equal((await pushImage(push.url, 'app/manifests/2', '1')).response.status, 201)
    const serve = await startZregServe(join(dir, 'site'))
    try {
      const tags = JSON.parse((await rawRequest(serve.url, 'GET', '/v2/app/tags/list')).body.toString()) as { tags: string[] }
      assert.deepEqual(tags.tags, ['1', 'Blobs', ...won])
      assert.equal((await rawRequest(serve.url, 'GET', '/v2/app/manifests/2/tags/list')).status, 200)
    } finally {
      await serve.stop()
    }
  })

  test('the literal tree follows nested repositories coming and going, atomically link by link', async () => {
    const live = join(dir, 'site', 'v2')
    assert.ok((await lstat(join(live, 'app', 'blobs'))).isDirectory(), 'app/blobs nests in app: a directory of links')
    for (const repository of ['app/blobs', 'app/blobs/deeper/still']) {
      assert.equal((await rawRequest(push.url, 'DELETE', `/v2/${repository}/manifests/${single.digest}`)).status, 202)
    }
    assert.ok((await lstat(join(live, 'app', 'blobs'))).isSymbolicLink(), 'nothing nests there any more: one link again')
    assert.ok(!existsSync(join(live, 'app', 'blobs', 'deeper')))
    await checkLiteralTree(join(dir, 'site'), 'app', '1', single)
    await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', absoluteSource(single.source), `docker://${push.authority}/app/blobs/again:1`])
    assert.ok((await lstat(join(live, 'app', 'blobs'))).isDirectory())
    for (const repository of ['app', 'app/blobs/again']) await checkLiteralTree(join(dir, 'site'), repository, '1', single)
  })

  test('zreg add takes app/tags:1 beside app:1 and builds; a colliding name exits 4 and changes nothing', async () => {
    const work = await tempDir('tree-names-add')
    const store = join(work, 'store')
    const site = join(work, 'site')
    const source = absoluteSource(single.source)
    await zregOk(['add', source, '--name', 'app:1', '--store', store])
    await zregOk(['add', source, '--name', 'app/tags:1', '--store', store])
    await zregOk(['build', '--store', store, '--out', site])
    for (const repository of ['app', 'app/tags']) await checkLiteralTree(site, repository, '1', single)
    const index = await readFile(join(store, 'index.json'), 'utf8')
    for (const name of ['app/tags/list:1', 'app/manifests/1:1', 'app/tags/list/x:1']) {
      const refused = await zreg(['add', source, '--name', name, '--store', store])
      assert.equal(refused.exitCode, 4, name)
      assert.match(refused.stderr, /cannot store .*the registry tree cannot hold both names/, name)
    }
    const json = await zreg(['add', source, '--name', 'app/tags/list:1', '--store', store, '--json'])
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'NAME_COLLISION')
    assert.equal(await readFile(join(store, 'index.json'), 'utf8'), index)
  })

  test('a store that already holds colliding names builds and serves the others, and push mode goes on', async () => {
    const work = await tempDir('tree-names-broken')
    const store = join(work, 'store')
    const site = join(work, 'site')
    await zregOk(['add', absoluteSource(single.source), '--name', 'app:1', '--store', store])
    await zregOk(['add', absoluteSource(single.source), '--name', 'other:1', '--store', store])
    // As an older zreg or a hand edit could leave it: names the tree cannot hold beside app's files.
    const indexPath = join(store, 'index.json')
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: { annotations: Record<string, string> }[] }
    const entry = index.manifests[0]!
    for (const name of ['app/tags/list:1', 'app/manifests/1:1']) index.manifests.push({ ...entry, annotations: { ...entry.annotations, 'org.opencontainers.image.ref.name': name } })
    // And a repository whose manifest is missing from the store: its own problem, not the others'.
    index.manifests.push({ ...entry, digest: `sha256:${'0'.repeat(64)}`, annotations: { 'org.opencontainers.image.ref.name': 'ghost:1' } } as (typeof index.manifests)[number])
    await writeFile(indexPath, JSON.stringify(index))

    const built = await zreg(['build', '--store', store, '--out', site, '--json'])
    assert.equal(built.exitCode, 5)
    const result = JSON.parse(built.stdout) as { repositories: number; skipped: { repository: string; reason: string }[] }
    assert.equal(result.repositories, 2)
    assert.deepEqual(result.skipped.map((skipped) => skipped.repository), ['app/manifests/1', 'app/tags/list', 'ghost'])
    assert.match(result.skipped[1]!.reason, /tag list of "app"/)
    assert.match(result.skipped[2]!.reason, /not in the store/)
    const text = await zreg(['build', '--store', store, '--out', site])
    assert.equal(text.exitCode, 5)
    assert.match(text.stderr, /left out app\/tags\/list: .*tag list of "app"/)
    await checkLiteralTree(site, 'app', '1', single)

    const pushServer = await startZregPush(store, site)
    try {
      assert.equal((await pushImage(pushServer.url, 'third', '1')).response.status, 201, 'other repositories still push')
      assert.equal((await pushImage(pushServer.url, 'app', '2')).response.status, 201)
      const serve = await startZregServe(site)
      try {
        assert.deepEqual((JSON.parse((await rawRequest(serve.url, 'GET', '/v2/_catalog')).body.toString()) as { repositories: string[] }).repositories, ['app', 'other', 'third'])
        const missing = await rawRequest(serve.url, 'GET', '/v2/app/tags/list/tags/list')
        assert.equal(missing.status, 404)
        assert.equal(errorOf(missing).code, 'NAME_UNKNOWN')
      } finally {
        await serve.stop()
      }
    } finally {
      await pushServer.stop()
    }
  })
})
