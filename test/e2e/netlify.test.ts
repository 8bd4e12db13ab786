import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parseAllHeaders, type Header } from '@netlify/headers-parser'
import { execa, type ResultPromise } from 'execa'
import { netlifyHost } from '../../src/build/hosts/netlify.js'
import { treeObjects } from '../../src/build/tree-objects.js'
import { zregOk } from '../helpers/cli.js'
import { rawRequest, type RawResponse } from '../helpers/http.js'
import { absoluteSource, loadFixtures, repoRoot, tempDir, type Fixtures } from '../helpers/paths.js'
import { freePort } from '../helpers/servers.js'
import { sharedSite, type SharedSite } from '../helpers/shared-site.js'
import { skopeoJson, skopeoPull } from '../helpers/skopeo.js'

/** A CDN holding some repositories' blobs (never asked: the checks read the redirect). */
const cdn = 'https://cdn.example.com/blobs'

const sha256 = (body: Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`
const oci = { manifest: 'application/vnd.oci.image.manifest.v1+json', index: 'application/vnd.oci.image.index.v1+json' }
const allManifests = `${oci.manifest}, ${oci.index}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json`

/**
 * A TCP front for `port` that closes a connection opening with a TLS handshake at once, as a plain HTTP
 * server answers one: skopeo tries TLS first, and workerd never answers a ClientHello, so each image
 * would wait out skopeo's 10 s TLS timeout.
 */
async function refuseTls(port: number): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy())
    socket.once('data', (first) => {
      if (first[0] === 0x16) return socket.destroy()
      socket.pause()
      const upstream = connect(port, '127.0.0.1', () => {
        upstream.write(first)
        socket.pipe(upstream).pipe(socket)
      })
      upstream.on('error', () => socket.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/**
 * Cloudflare Pages' own local server (`wrangler pages dev`, workerd from npm, offline) reading the
 * generated `_headers` and `_redirects` from a published copy of the tree: links followed, dot paths
 * left out, as the usage says. What these hosts cannot do (Accept, Range, 405 bodies, Content-Length
 * in the local server) is left out of the checks; Netlify's 404 rules, which Cloudflare ignores, are
 * checked as text.
 */
describe('Netlify / Cloudflare Pages _headers and _redirects, served by wrangler pages dev', () => {
  let shared: SharedSite
  let fixtures: Fixtures
  let url: string
  let authority: string
  let child: ResultPromise
  let front: Server
  let files: Map<string, string>
  let publish: string
  let tree: string
  before(async () => {
    shared = await sharedSite()
    fixtures = await loadFixtures()
    const dir = await tempDir('netlify')
    publish = join(dir, 'publish')
    // The shared store, and one repository whose blobs a rule sends to a CDN.
    const store = join(dir, 'store')
    await execa('cp', ['-a', shared.store, store])
    await zregOk(['add', absoluteSource(fixtures.images.find((image) => image.id === 'oci/multi-layer')!.source), '--name', 'redirected/app:1', '--store', store])
    tree = join(dir, 'site')
    await zregOk(['build', '--store', store, '--out', tree, '--redirect', `redirected/*=${cdn}/{algorithm}/{hex}`])
    await execa('cp', ['-rL', tree, publish])
    await execa('find', [publish, '-name', '.*', '-prune', '-exec', 'rm', '-rf', '{}', '+'])
    const config = await netlifyHost.configure({ root: '/', tree, listen: '127.0.0.1:8080' })
    files = new Map(config.files.map((file) => [file.name, file.contents]))
    for (const file of config.files) {
      await mkdir(dirname(join(publish, file.name)), { recursive: true })
      await writeFile(join(publish, file.name), file.contents)
    }
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const wrangler = join(repoRoot, 'node_modules', '.bin', 'wrangler')
    // A fixed compatibility date the bundled workerd supports (the default is today's).
    child = execa(wrangler, ['pages', 'dev', publish, '--ip', '127.0.0.1', '--port', String(port), '--compatibility-date', '2025-01-01'], {
      reject: false,
      stdin: 'ignore',
      all: true,
      buffer: false,
      env: { WRANGLER_SEND_METRICS: 'false', CI: 'true' },
      cwd: dirname(publish),
    })
    let output = ''
    child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const deadline = Date.now() + 60_000
    while (!(await fetch(`${url}/v2/`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler pages dev did not start:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    front = await refuseTls(port)
    authority = `127.0.0.1:${(front.address() as AddressInfo).port}`
  })
  after(async () => {
    front?.close()
    child?.kill('SIGTERM')
    await child
  })

  async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
    return rawRequest(url, method, path, headers)
  }

  function manifestIs(response: RawResponse, digest: string, mediaType: string, cache: string): void {
    assert.equal(response.status, 200)
    assert.equal(response.headers['content-type'], mediaType)
    assert.equal(response.headers['docker-content-digest'], digest)
    assert.equal(response.headers['cache-control'], cache)
    assert.equal(sha256(response.body), digest)
  }

  test('sends each file with its Content-Type, Docker-Content-Digest and Cache-Control', async () => {
    const image = (id: string) => fixtures.images.find((candidate) => candidate.id === id)!
    const single = image('oci/single')
    const multiArch = image('oci/multi-arch')
    const layer = single.blobs!.find((blob) => blob !== single.configDigest)!
    for (const path of ['/v2/', '/v2']) {
      const version = await get(path)
      assert.equal(version.status, 200, path)
      assert.equal(version.headers['content-type'], 'application/json', path)
      assert.equal(version.headers['docker-distribution-api-version'], 'registry/2.0', path)
      assert.deepEqual(JSON.parse(version.body.toString()), {}, path)
    }
    const catalog = await get('/v2/_catalog')
    assert.equal(catalog.headers['content-type'], 'application/json')
    assert.equal(catalog.headers['cache-control'], 'public, max-age=60')
    assert.ok((JSON.parse(catalog.body.toString()) as { repositories: string[] }).repositories.includes('fixtures/single'))
    const tags = await get('/v2/fixtures/single/tags/list')
    assert.equal(tags.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(tags.body.toString()), { name: 'fixtures/single', tags: ['1.0', 'sbom'] })
    manifestIs(await get('/v2/fixtures/single/manifests/1.0', { Accept: allManifests }), single.digest!, oci.manifest, 'public, max-age=60')
    manifestIs(await get(`/v2/fixtures/single/manifests/${single.digest}`, { Accept: allManifests }), single.digest!, oci.manifest, 'public, max-age=31536000, immutable')
    // No Accept negotiation: the index, for every client.
    manifestIs(await get('/v2/fixtures/multi-arch/manifests/1.0', { Accept: allManifests }), multiArch.digest!, oci.index, 'public, max-age=60')
    manifestIs(await get(`/v2/fixtures/multi-arch/manifests/${multiArch.digest}`), multiArch.digest!, oci.index, 'public, max-age=31536000, immutable')
    const dockerV2 = image('oci/docker-v2')
    manifestIs(await get('/v2/fixtures/docker-v2/manifests/1.0', { Accept: allManifests }), dockerV2.digest!, 'application/vnd.docker.distribution.manifest.v2+json', 'public, max-age=60')
    const blob = await get(`/v2/fixtures/single/blobs/${layer}`)
    assert.equal(blob.headers['content-type'], 'application/octet-stream')
    assert.equal(blob.headers['docker-content-digest'], layer, 'one rule per digest: none joined with another')
    assert.equal(blob.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.equal(sha256(blob.body), layer)
    const referrers = await get(`/v2/fixtures/single/referrers/${single.digest}`)
    assert.equal(referrers.headers['content-type'], oci.index)
  })

  test('a redirected blob answers a 307 to the CDN (Cloudflare Pages takes https targets), and is not published', async () => {
    const { objects } = await treeObjects(tree)
    const redirected = objects.filter((object) => object.redirect !== undefined)
    assert.ok(redirected.length >= 4)
    for (const object of redirected) {
      const response = await get(`/${object.key}`)
      assert.equal(response.status, 307, object.key)
      assert.equal(response.headers.location, `${cdn}/sha256/${object.digest!.slice(7)}`)
      assert.ok(!existsSync(join(publish, object.key)))
    }
  })

  test('a miss is a 404 with an OCI error body; metadata is not published', async () => {
    for (const path of ['/v2/fixtures/single/manifests/nope', `/v2/fixtures/single/blobs/sha256:${'0'.repeat(64)}`, '/v2/no/such/tags/list']) {
      const response = await get(path)
      assert.equal(response.status, 404, path)
      assert.ok(Array.isArray((JSON.parse(response.body.toString()) as { errors: unknown[] }).errors), path)
      assert.equal(response.headers['docker-content-digest'], undefined, path)
    }
    assert.equal((await get('/.zreg/site.json')).status, 404)
    assert.equal((await get('/v2/fixtures/single/manifests/.htaccess')).status, 404)
  })

  test('Netlify answers each repository\'s misses with the OCI code (rules Cloudflare Pages ignores)', () => {
    const redirects = files.get('_redirects')!.split('\n')
    assert.ok(redirects.includes('/v2/fixtures/single/manifests/* /_zreg/errors/MANIFEST_UNKNOWN.json 404'))
    assert.ok(redirects.includes('/v2/fixtures/single/blobs/* /_zreg/errors/BLOB_UNKNOWN.json 404'))
    assert.equal(redirects.filter((line) => line.startsWith('/')).at(-1), '/v2/* /_zreg/errors/NAME_UNKNOWN.json 404', 'the catch-all comes last')
    assert.deepEqual(JSON.parse(files.get('_zreg/errors/BLOB_UNKNOWN.json')!), { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] })
  })

  test("Netlify's own _headers parser gives every file of the tree exactly its headers", async () => {
    const parsed = await parseAllHeaders({ headersFiles: [join(publish, '_headers')], configHeaders: [], minimal: false })
    assert.deepEqual(parsed.errors, [])
    // As netlify dev applies them: every rule whose path matches, later ones winning.
    const headersFor = (path: string) => Object.assign({}, ...(parsed.headers as Header[]).filter((rule) => rule.forRegExp.test(path)).map((rule) => rule.values)) as Record<string, string>
    const site = JSON.parse(await readFile(join(tree, '.zreg', 'site.json'), 'utf8')) as { repositories: Record<string, string> }
    let checked = 0
    for (const [name, key] of Object.entries(site.repositories)) {
      const entries = JSON.parse(await readFile(join(tree, '.zreg-builds', 'objects', `${key}.headers.json`), 'utf8')) as Record<string, { contentType: string; digest?: string; redirect?: unknown }>
      for (const [path, entry] of Object.entries(entries)) {
        if (entry.redirect) continue
        const got = headersFor(`/v2/${name}/${path}`)
        assert.equal(got['Content-Type'], entry.contentType, `/v2/${name}/${path}`)
        assert.equal(got['Docker-Content-Digest'], entry.digest, `/v2/${name}/${path}`)
        assert.equal(got['Docker-Distribution-API-Version'], 'registry/2.0')
        checked++
      }
    }
    assert.ok(checked > 50, `${checked} files`)
  })

  test('usage warns of tags equal but for case, whose paths Netlify matches as one', async () => {
    const dir = await tempDir('netlify-case')
    const store = ['--store', join(dir, 'store')]
    const single = fixtures.images.find((candidate) => candidate.id === 'oci/single')!
    const multiLayer = fixtures.images.find((candidate) => candidate.id === 'oci/multi-layer')!
    await zregOk(['add', absoluteSource(single.source), '--name', 'cases/app:v1.0-rc1', ...store])
    await zregOk(['add', absoluteSource(multiLayer.source), '--name', 'cases/app:v1.0-RC1', ...store])
    await zregOk(['build', ...store, '--out', join(dir, 'site')])
    const config = await netlifyHost.configure({ root: '/', tree: join(dir, 'site'), listen: '127.0.0.1:8080' })
    assert.match(config.usage, /ignoring case.*\/v2\/cases\/app\/manifests\/v1\.0-RC1 and \/v2\/cases\/app\/manifests\/v1\.0-rc1|ignoring case.*\/v2\/cases\/app\/manifests\/v1\.0-rc1 and \/v2\/cases\/app\/manifests\/v1\.0-RC1/)
    assert.doesNotMatch((await netlifyHost.configure({ root: '/', tree, listen: '127.0.0.1:8080' })).usage, /Warning/)
  })

  test('skopeo pulls every OCI fixture with the source digest (--all for the index)', async () => {
    const dir = await tempDir('netlify-pull')
    for (const image of fixtures.images.filter((candidate) => candidate.id.startsWith('oci/'))) {
      const index = image.mediaType === oci.index
      assert.equal(await skopeoPull(`docker://${authority}/${image.name}`, join(dir, image.id.replace(/\//g, '_')), { all: index }), image.digest, image.name)
    }
    const tags = (await skopeoJson(['list-tags', '--tls-verify=false', `docker://${authority}/dockerold/tool`])) as { Tags: string[] }
    assert.deepEqual(tags.Tags, ['2.0', 'latest'])
  })
})
