import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { zreg, zregOk } from '../helpers/cli.js'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pushFixture, startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js'
import { startZregPush, startZregServe } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const layout = join(fixturesDir, 'oci-layout')

interface StoreIndex {
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[]
}

async function storeIndex(store: string): Promise<StoreIndex> {
  return JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as StoreIndex
}

/** The stored refs as `repository:tag` (or `repository@digest` untagged) -> digest. */
async function storedRefs(store: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>()
  for (const entry of (await storeIndex(store)).manifests) {
    const name = entry.annotations?.['org.opencontainers.image.ref.name']
    const repository = entry.annotations?.['dev.zreg.repository'] ?? name?.split(':')[0]
    refs.set(name ?? `${repository}@${entry.digest}`, entry.digest)
  }
  return refs
}

/** An environment with no credential files of this machine's user: HOME and XDG_RUNTIME_DIR in `dir`. */
function isolatedEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run'), REGISTRY_AUTH_FILE: '', ZREG_CREDS: '', ...extra }
}

async function addJson(args: string[], env: Record<string, string>): Promise<{ images: { repository: string; tag?: string; digest: string; mediaType: string }[] }> {
  return JSON.parse((await zregOk(['add', ...args, '--json'], { env })).stdout) as { images: { repository: string; tag?: string; digest: string; mediaType: string }[] }
}

/** Builds the store, serves it and pulls `name` back with skopeo: the digest a real client gets. */
async function pullBack(store: string, name: string, dir: string): Promise<string> {
  const out = join(dir, `site-${Math.random().toString(36).slice(2)}`)
  await zregOk(['build', '--store', store, '--out', out])
  const server = await startZregServe(out)
  try {
    return await skopeoPull(`docker://${server.authority}/${name}`, join(dir, `pulled-${Math.random().toString(36).slice(2)}`), { all: true })
  } finally {
    await server.stop()
  }
}

describe('zreg add docker:// from the reference registry', () => {
  let registry: ReferenceRegistry
  let proxy: FaultProxy
  let work: string
  let env: Record<string, string>
  let multi: FixtureImage
  let single: FixtureImage

  before(async () => {
    const fixtures = await loadFixtures()
    const find = (id: string) => fixtures.images.find((image) => image.id === id)!
    multi = find('oci/multi-arch')
    single = find('oci/single')
    work = await tempDir('add-registry')
    env = isolatedEnv(work)
    registry = await startReferenceRegistry()
    await pushFixture(layout, 'fixtures/multi-arch:1.0', registry.authority, 'up/multi:1.0')
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/small:1.0')
    // skopeo's oci: reader takes only OCI manifests; converting on the way gives a Docker schema2 one.
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/docker:1.0', { format: 'v2s2' })
    proxy = await startFaultProxy(registry.url)
  })

  after(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  test('a multi-arch index: every platform, same digest, verified, pulled back byte-identical', async () => {
    const store = join(work, 'all')
    const { images } = await addJson([`docker://${registry.authority}/up/multi:1.0`, '--store', store], env)
    assert.deepEqual(images.map((image) => [image.repository, image.tag, image.digest]), [['up/multi', '1.0', multi.digest]])
    await zregOk(['verify', '--store', store])
    assert.equal(await pullBack(store, 'up/multi:1.0', work), multi.digest)
    // A Docker schema2 image keeps its bytes too.
    const docker = await addJson([`docker://${registry.authority}/up/docker:1.0`, '--store', store], env)
    const head = await fetch(`${registry.url}/v2/up/docker/manifests/1.0`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
    assert.equal(docker.images[0]!.digest, head.headers.get('docker-content-digest'))
    assert.equal(docker.images[0]!.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    assert.equal(await pullBack(store, 'up/docker:1.0', work), docker.images[0]!.digest)
  })

  test('--platform: one keeps that manifest; several give an index listing only them', async () => {
    const index = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', multi.digest!.slice(7)), 'utf8')) as { manifests: { digest: string; platform: { architecture: string; variant?: string } }[] }
    const arm64 = index.manifests.find((child) => child.platform.architecture === 'arm64')!
    const store = join(work, 'platforms')
    const one = await addJson([`docker://${registry.authority}/up/multi:1.0`, '--store', store, '--platform', 'linux/arm64', '--name', 'one:arm64'], env)
    assert.equal(one.images[0]!.digest, arm64.digest)
    const two = await addJson([`docker://${registry.authority}/up/multi:1.0`, '--store', store, '--platform', 'linux/arm64', '--platform', 'linux/amd64', '--name', 'two:1.0'], env)
    assert.equal(two.images[0]!.mediaType, 'application/vnd.oci.image.index.v1+json')
    const narrowed = JSON.parse(await readFile(join(store, 'blobs', 'sha256', two.images[0]!.digest.slice(7)), 'utf8')) as typeof index
    assert.deepEqual(narrowed.manifests.map((child) => child.platform.architecture).sort(), ['amd64', 'arm64'])
    await zregOk(['verify', '--store', store])
    const missing = await zreg(['add', `docker://${registry.authority}/up/multi:1.0`, '--store', store, '--platform', 'linux/s390x'], { env })
    assert.equal(missing.exitCode, 3, missing.stderr)
    assert.match(missing.stderr, /linux\/s390x.*it has: linux\/amd64/)
  })

  test('what the store holds is not fetched again: a second add costs one manifest request', async () => {
    const store = join(work, 'again')
    proxy.reset()
    await zregOk(['add', `docker://${proxy.authority}/up/multi:1.0`, '--store', store], { env })
    const first = proxy.requests.filter((request) => request.path.includes('/blobs/')).length
    assert.ok(first > 0)
    proxy.reset()
    await zregOk(['add', `docker://${proxy.authority}/up/multi:1.0`, '--store', store, '--name', 'again:copy'], { env })
    const repeated = proxy.requests.filter((request) => request.path.startsWith('/v2/up/'))
    assert.deepEqual(repeated.map((request) => `${request.method} ${request.path}`), ['HEAD /v2/up/multi/manifests/1.0'])
    assert.equal((await storedRefs(store)).get('again:copy'), multi.digest)
  })

  test('names: the path without the host, --scoped with it, a digest kept untagged unless --name tags it', async () => {
    const store = join(work, 'names')
    const port = registry.authority.split(':')[1]
    const scoped = await addJson([`docker://${registry.authority}/up/small:1.0`, '--store', store, '--scoped'], env)
    assert.equal(scoped.images[0]!.repository, `127.0.0.1-${port}/up/small`)
    const byDigest = await addJson([`docker://${registry.authority}/up/small@${single.digest}`, '--store', store], env)
    assert.deepEqual([byDigest.images[0]!.repository, byDigest.images[0]!.tag], ['up/small', undefined])
    const named = await addJson([`docker://${registry.authority}/up/small@${single.digest}`, '--store', store, '--name', 'pinned:stable'], env)
    assert.deepEqual([named.images[0]!.repository, named.images[0]!.tag], ['pinned', 'stable'])
    assert.equal(await pullBack(store, `127.0.0.1-${port}/up/small:1.0`, work), single.digest)
  })

  test('a tag or repository the registry lacks: exit 3 naming the tags there are, nothing stored; no tag means latest', async () => {
    const store = join(work, 'missing')
    for (const source of [`docker://${registry.authority}/up/small:nope`, `docker://${registry.authority}/up/small`, `docker://${registry.authority}/up/nothing:1.0`]) {
      const result = await zreg(['add', source, '--store', store], { env })
      assert.equal(result.exitCode, 3, `${source}: ${result.stderr}`)
      assert.match(result.stderr, /no such manifest|manifest unknown|not found/i)
    }
    assert.match((await zreg(['add', `docker://${registry.authority}/up/small`, '--store', store], { env })).stderr, /up\/small:latest: no such manifest \(it has: 1\.0\)/)
    await assert.rejects(readFile(join(store, 'index.json')))
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/small:latest')
    const latest = await addJson([`docker://${registry.authority}/up/small`, '--store', store], env)
    assert.deepEqual([latest.images[0]!.repository, latest.images[0]!.tag, latest.images[0]!.digest], ['up/small', 'latest', single.digest])
  })

  test('mistakes a user makes: nothing listening, no repository, a malformed transport, registry flags on a file source', async () => {
    const store = join(work, 'mistakes')
    const refused = await zreg(['add', 'docker://127.0.0.1:1/up/small:1.0', '--store', store], { env })
    assert.equal(refused.exitCode, 5, refused.stderr)
    assert.match(refused.stderr, /nothing listens at 127\.0\.0\.1:1/)
    assert.doesNotMatch(refused.stderr, /retry \d/)
    for (const [source, pattern] of [[`docker://${registry.authority}`, /names a registry but no repository/], [`docker//${registry.authority}/up/small:1.0`, /docker:\/\/HOST/], [`docker:/${registry.authority}/up/small:1.0`, /docker:\/\/HOST/]] as const) {
      const result = await zreg(['add', source, '--store', store], { env })
      assert.equal(result.exitCode, 2, `${source}: ${result.stderr}`)
      assert.match(result.stderr, pattern)
    }
    const misplaced = await zreg(['add', `oci:${layout}:fixtures/single:1.0`, '--store', store, '--with-referrers'], { env })
    assert.equal(misplaced.exitCode, 2, misplaced.stderr)
    assert.match(misplaced.stderr, /--with-referrers applies to registry sources/)
  })

  test('faults: a dropped download resumes with Range, 503 and 429 are retried, a redirect gets no Authorization', async () => {
    const store = join(work, 'faults')
    proxy.reset()
    proxy.fault(
      { method: 'GET', path: /\/blobs\//, fault: { kind: 'drop' } },
      { method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' } } },
      { method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 429 } },
      { method: 'GET', path: /\/blobs\//, times: Infinity, fault: { kind: 'redirect' } },
    )
    const result = await zregOk(['add', `docker://${proxy.authority}/up/multi:1.0`, '--store', store], { env })
    assert.equal((await storedRefs(store)).get('up/multi:1.0'), multi.digest)
    assert.ok(proxy.requests.some((request) => request.headers.range !== undefined) || proxy.sideRequests.some((request) => request.headers.range !== undefined), 'a Range request resumed the dropped download')
    assert.ok(proxy.sideRequests.length > 0, 'blobs came through the redirect')
    assert.match(result.stderr, /503|429/)
    await zregOk(['verify', '--store', store])
  })

  test('a wrong byte fails loudly (exit 4) and stores nothing', async () => {
    const store = join(work, 'flipped')
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, times: Infinity, fault: { kind: 'flip' } })
    const result = await zreg(['add', `docker://${proxy.authority}/up/small:1.0`, '--store', store], { env })
    proxy.reset()
    assert.equal(result.exitCode, 4, result.stderr)
    assert.match(result.stderr, /DIGEST_INVALID|hashes to/)
    await assert.rejects(readFile(join(store, 'index.json')))
  })
})

describe('zreg add docker:// with credentials', () => {
  const user = { username: 'mirror', password: 's3cret pass' }
  let registry: ReferenceRegistry
  let proxy: FaultProxy
  let work: string
  let single: FixtureImage

  before(async () => {
    single = (await loadFixtures()).images.find((image) => image.id === 'oci/single')!
    work = await tempDir('add-registry-auth')
    registry = await startReferenceRegistry({ users: [user] })
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'team/app:1.0', { creds: `${user.username}:${user.password}` })
    proxy = await startFaultProxy(registry.url)
  })

  after(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  test('Basic auth: none or wrong credentials exit 5 naming what to do; --creds and ZREG_CREDS work', async () => {
    const env = isolatedEnv(work)
    const source = `docker://${registry.authority}/team/app:1.0`
    const none = await zreg(['add', source, '--store', join(work, 'none')], { env })
    assert.equal(none.exitCode, 5, none.stderr)
    assert.match(none.stderr, /--creds/)
    const wrong = await zreg(['add', source, '--store', join(work, 'wrong'), '--creds', 'mirror:nope'], { env })
    assert.equal(wrong.exitCode, 5, wrong.stderr)
    const store = join(work, 'ok')
    await zregOk(['add', source, '--store', store, '--creds', `${user.username}:${user.password}`], { env })
    await zregOk(['add', source, '--store', store, '--name', 'fromenv:1'], { env: { ...env, ZREG_CREDS: `${user.username}:${user.password}` } })
    assert.equal((await storedRefs(store)).get('fromenv:1'), single.digest)
  })

  test("credentials from the files users have: auth.json, ~/.docker/config.json; a credential helper is named", async () => {
    const source = `docker://${registry.authority}/team/app:1.0`
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64')
    const home = join(work, 'home-auth')
    await mkdir(join(home, 'run', 'containers'), { recursive: true })
    await writeFile(join(home, 'run', 'containers', 'auth.json'), JSON.stringify({ auths: { [registry.authority]: { auth } } }))
    await zregOk(['add', source, '--store', join(home, 'store')], { env: isolatedEnv(home) })

    const dockerHome = join(work, 'home-docker')
    await mkdir(join(dockerHome, '.docker'), { recursive: true })
    await writeFile(join(dockerHome, '.docker', 'config.json'), JSON.stringify({ auths: { [`http://${registry.authority}`]: { auth } } }))
    await zregOk(['add', source, '--store', join(dockerHome, 'store')], { env: isolatedEnv(dockerHome) })

    const helperHome = join(work, 'home-helper')
    await mkdir(join(helperHome, '.docker'), { recursive: true })
    await writeFile(join(helperHome, '.docker', 'config.json'), JSON.stringify({ credHelpers: { [registry.authority]: 'secretservice' } }))
    const helped = await zreg(['add', source, '--store', join(helperHome, 'store')], { env: isolatedEnv(helperHome) })
    assert.equal(helped.exitCode, 5, helped.stderr)
    assert.match(helped.stderr, /docker-credential-secretservice|secretservice/)
  })

  test('a redirected blob download does not carry Authorization to the other host', async () => {
    const store = join(work, 'redirect')
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, times: Infinity, fault: { kind: 'redirect' } })
    await zregOk(['add', `docker://${proxy.authority}/team/app:1.0`, '--store', store, '--creds', `${user.username}:${user.password}`], { env: isolatedEnv(work) })
    assert.ok(proxy.requests.some((request) => request.headers.authorization !== undefined), 'the registry got credentials')
    assert.ok(proxy.sideRequests.length > 0)
    assert.ok(proxy.sideRequests.every((request) => request.headers.authorization === undefined), 'the other host got none')
    await zregOk(['verify', '--store', store])
  })
})

describe('zreg add docker:// from zreg push mode (bearer tokens, referrers API)', () => {
  test('the token flow, and --with-referrers copies the SBOM that refers to the image', async () => {
    const fixtures = await loadFixtures()
    const single = fixtures.images.find((image) => image.id === 'oci/single')!
    const sbom = fixtures.images.find((image) => image.id === 'oci/sbom')!
    const work = await tempDir('add-registry-token')
    const htpasswd = join(work, 'htpasswd')
    const { execa } = await import('execa')
    await writeFile(htpasswd, `${(await execa('htpasswd', ['-Bbn', 'ci', 'pw'])).stdout.trim()}\n`)
    const upstream = await startZregPush(join(work, 'up-store'), join(work, 'up-site'), ['--auth', `htpasswd:${htpasswd}`, '--read', 'authenticated'])
    try {
      await pushFixture(layout, 'fixtures/single:1.0', upstream.authority, 'team/app:1.0', { creds: 'ci:pw' })
      await pushFixture(layout, 'fixtures/single:sbom', upstream.authority, 'team/app:sbom', { creds: 'ci:pw' })
      const env = isolatedEnv(work)
      const denied = await zreg(['add', `docker://${upstream.authority}/team/app:1.0`, '--store', join(work, 'denied')], { env })
      assert.equal(denied.exitCode, 5, denied.stderr)
      const store = join(work, 'store')
      const { images } = await addJson([`docker://${upstream.authority}/team/app:1.0`, '--store', store, '--creds', 'ci:pw', '--with-referrers'], env)
      assert.deepEqual(images.map((image) => image.digest).sort(), [single.digest, sbom.digest].sort())
      assert.equal(images.find((image) => image.digest === sbom.digest)!.tag, undefined)
      await zregOk(['verify', '--store', store])
      // The built tree answers the referrers API with it.
      const out = join(work, 'site')
      await zregOk(['build', '--store', store, '--out', out])
      const server = await startZregServe(out)
      try {
        const response = await fetch(`${server.url}/v2/team/app/referrers/${single.digest}`)
        const body = (await response.json()) as { manifests: { digest: string }[] }
        assert.deepEqual(body.manifests.map((entry) => entry.digest), [sbom.digest])
      } finally {
        await server.stop()
      }
    } finally {
      await upstream.stop()
    }
  })

  test('a registry without the referrers API: the sha256-HEX tag lists them', async () => {
    const fixtures = await loadFixtures()
    const single = fixtures.images.find((image) => image.id === 'oci/single')!
    const sbom = fixtures.images.find((image) => image.id === 'oci/sbom')!
    const work = await tempDir('add-registry-fallback')
    const registry = await startReferenceRegistry()
    try {
      await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'team/app:1.0')
      await pushFixture(layout, 'fixtures/single:sbom', registry.authority, 'team/app:sbom')
      // What a referrers-aware client (oras, cosign) pushes where the API is missing: an index under the fallback tag.
      const fallback = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size, artifactType: sbom.artifactType }] })
      const put = await fetch(`${registry.url}/v2/team/app/manifests/sha256-${single.digest!.slice(7)}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: fallback })
      assert.equal(put.status, 201, await put.text())
      const store = join(work, 'store')
      const { images } = await addJson([`docker://${registry.authority}/team/app:1.0`, '--store', store, '--with-referrers'], isolatedEnv(work))
      assert.deepEqual(images.map((image) => image.digest).sort(), [single.digest, sbom.digest].sort())
      await zregOk(['verify', '--store', store])
    } finally {
      await registry.stop()
    }
  })
})
