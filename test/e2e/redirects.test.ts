import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { treeObjects } from '../../src/build/tree-objects.js'
import { apacheModes, deployToApache } from '../helpers/apache.js'
import { zreg, zregOk } from '../helpers/cli.js'
import { startContainerd, writeHostsDir, type Containerd } from '../helpers/containerd.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { podman } from '../helpers/podman.js'
import { cleanEnv, startS3Server, type TestS3Server } from '../helpers/s3-server.js'
import { startCaddy, startNginx, startPlainNginx, startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** The blobs of `repository` the tree answers with a redirect, and those it holds. */
interface Blobs {
  redirected: string[]
  held: string[]
}

/** A CDN in front of an OCI layout's blobs/ directory, served as it is by plain nginx; it logs each request with its Authorization header. */
async function startCdn(blobs: string): Promise<TestServer & { port: number; log: () => Promise<string[]> }> {
  const server = await startPlainNginx(
    (port, prefix) => `    log_format cdn '$request_method $uri auth=$http_authorization';
    server {
        listen 127.0.0.1:${port};
        access_log ${prefix}/cdn.log cdn;
        root "${blobs}";
        default_type application/octet-stream;
    }`,
    '/',
  )
  const log = async () => (await readFile(join(server.prefix, 'cdn.log'), 'utf8').catch(() => '')).split('\n').filter((line) => line !== '')
  return { ...server, log }
}

/**
 * Precomputed redirects (zreg build --redirect): the blobs of the repositories a rule matches are
 * answered with a 307 to a CDN, two mirrors of which are picked per blob by its digest; the CDN is plain
 * nginx serving the store's blobs/ directory as it is. Manifests and the blobs of other repositories
 * stay on the origin. Every host kind answers the same.
 */
describe('precomputed redirects: blobs from a CDN, manifests from the origin', () => {
  let dir: string
  let store: string
  let site: string
  let cdn: Awaited<ReturnType<typeof startCdn>>
  let mirrors: string[]
  let image: (id: string) => FixtureImage
  const blobs = new Map<string, Blobs>()
  const redirectedRepositories = ['team/app', 'team/app/manifests']
  const heldRepositories = ['kept/app', 'team/app/blobs']
  const redirectFlags = () => redirectedRepositories.flatMap((name) => ['--redirect', `${name}=${mirrors.join(',')}`])

  /** Where a redirected blob is sent: the mirror its digest picks. */
  const locationOf = (digest: string) => {
    const hex = digest.slice('sha256:'.length)
    return mirrors[Number.parseInt(hex.slice(0, 8), 16) % mirrors.length]!.replace('{algorithm}', 'sha256').replace('{hex}', hex)
  }

  before(async () => {
    dir = await tempDir('redirects')
    const fixtures = await loadFixtures()
    image = (id) => fixtures.images.find((candidate) => candidate.id === id)!
    store = join(dir, 'store')
    for (const [id, name] of [
      ['oci/multi-layer', 'team/app:1'],
      ['oci/multi-arch', 'team/app:multi'],
      ['oci/single', 'kept/app:1'],
      // Repositories nested in team/app's parts: one redirected, one held inside the redirected one's blobs/.
      ['oci/single', 'team/app/manifests:1'],
      ['oci/single', 'team/app/blobs:1'],
    ] as const) {
      await zregOk(['add', absoluteSource(image(id).source), '--name', name, '--store', store])
    }
    cdn = await startCdn(join(store, 'blobs'))
    // Two names of the one CDN: two mirrors, as far as the rule and the clients know.
    mirrors = [`http://127.0.0.1:${cdn.port}/{algorithm}/{hex}`, `http://localhost:${cdn.port}/{algorithm}/{hex}`]
    site = join(dir, 'site')
    await zregOk(['build', '--store', store, '--out', site, ...redirectFlags()])
    const { objects } = await treeObjects(site)
    for (const repository of [...redirectedRepositories, ...heldRepositories]) {
      const mine = objects.filter((object) => object.kind === 'blobs' && object.key === `v2/${repository}/blobs/${object.digest}`)
      blobs.set(repository, { redirected: mine.filter((object) => object.redirect).map((object) => object.digest!), held: mine.filter((object) => !object.redirect).map((object) => object.digest!) })
    }
  })
  after(async () => {
    await cdn?.stop()
  })

  test('the build holds no file for a redirected blob, and both mirrors are used', async () => {
    const team = blobs.get('team/app')!
    assert.equal(team.held.length, 0)
    assert.ok(team.redirected.length >= 4)
    assert.ok(blobs.get('team/app/manifests')!.redirected.length >= 2)
    for (const name of heldRepositories) assert.equal(blobs.get(name)!.redirected.length, 0, name)
    assert.deepEqual((await readdir(join(site, 'v2', 'team', 'app', 'blobs'))).filter((name) => name.startsWith('sha256:')), [])
    assert.equal(new Set(team.redirected.map((digest) => new URL(locationOf(digest)).hostname)).size, 2, 'the digests spread over both mirrors')
  })

  /** What every host kind answers: redirected blobs (GET and HEAD), held blobs, manifests, misses. */
  async function checkAnswers(server: string, name: string): Promise<void> {
    for (const repository of redirectedRepositories) {
      for (const digest of blobs.get(repository)!.redirected) {
        for (const method of ['GET', 'HEAD']) {
          const answer = await rawRequest(server, method, `/v2/${repository}/blobs/${digest}`)
          assert.equal(answer.status, 307, `${name}: ${method} ${repository} ${digest}`)
          assert.equal(answer.headers.location, locationOf(digest), `${name}: ${method} ${repository} ${digest}`)
          assert.equal(answer.headers['cache-control'], 'public, max-age=60', `${name}: a redirect lasts as long as a tag`)
        }
      }
    }
    // A containerd mirror request (?ns=) is redirected to the same place, without its query.
    const first = blobs.get('team/app')!.redirected[0]!
    const mirrored = await rawRequest(server, 'GET', `/v2/team/app/blobs/${first}?ns=docker.io`)
    assert.equal(mirrored.headers.location, locationOf(first), `${name}: ?ns=`)
    for (const repository of heldRepositories) {
      for (const digest of blobs.get(repository)!.held) {
        const answer = await rawRequest(server, 'GET', `/v2/${repository}/blobs/${digest}`)
        assert.equal(answer.status, 200, `${name}: ${repository} ${digest} stays`)
        assert.equal(answer.headers.location, undefined)
        assert.equal(sha256(answer.body), digest)
      }
    }
    const manifest = await rawRequest(server, 'GET', '/v2/team/app/manifests/1', { Accept: 'application/vnd.oci.image.manifest.v1+json' })
    assert.equal(manifest.status, 200, `${name}: a manifest is never redirected`)
    const byDigest = await rawRequest(server, 'GET', `/v2/team/app/manifests/${image('oci/multi-layer').digest}`, { Accept: 'application/vnd.oci.image.manifest.v1+json' })
    assert.equal(byDigest.status, 200, `${name}: a manifest by digest is never redirected`)
    const missing = await rawRequest(server, 'GET', `/v2/team/app/blobs/sha256:${'0'.repeat(64)}`)
    assert.equal(missing.status, 404, `${name}: a blob the tree does not know`)
  }

  /** skopeo copies both images (every platform of the index), each blob checked against its digest on the way. */
  async function skopeoPullsAll(authority: string, name: string, env?: Record<string, string>): Promise<void> {
    const into = await tempDir('redirect-pull')
    assert.equal(await skopeoPull(`docker://${authority}/team/app:1`, join(into, 'one'), { ...(env ? { env } : {}) }), image('oci/multi-layer').digest, name)
    assert.equal(await skopeoPull(`docker://${authority}/team/app:multi`, join(into, 'multi'), { all: true, ...(env ? { env } : {}) }), image('oci/multi-arch').digest, name)
  }

  test('zreg serve, nginx, Caddy, Apache and .htaccess answer the same, and skopeo pulls through each', async () => {
    const servers: [string, () => Promise<TestServer>][] = [
      ['zreg serve', () => startZregServe(site)],
      ['nginx', () => startNginx(site)],
      ['Caddy', () => startCaddy(site)],
      ...apacheModes.map((mode): [string, () => Promise<TestServer>] => [mode.name, () => deployToApache(mode, site)]),
    ]
    for (const [name, start] of servers) {
      const server = await start()
      try {
        await checkAnswers(server.url, name)
        const before = (await cdn.log()).length
        await skopeoPullsAll(server.authority, name)
        const fetched = (await cdn.log()).slice(before)
        assert.ok(fetched.length >= blobs.get('team/app')!.redirected.length, `${name}: the blobs came from the CDN`)
      } finally {
        await server.stop()
      }
    }
  })

  test('podman and containerd pull through the redirect from zreg serve and from nginx', async () => {
    const containerd: Containerd = await startContainerd()
    const storage = await mkdtemp(join(tmpdir(), 'zreg-podman-'))
    try {
      for (const [name, start] of [
        ['zreg serve', () => startZregServe(site)],
        ['nginx', () => startNginx(site)],
      ] as const) {
        const server: TestServer = await start()
        try {
          const before = (await cdn.log()).length
          const client = podman(join(storage, name.replace(' ', '-')))
          const pulled = await client(['pull', '--tls-verify=false', `${server.authority}/team/app:1`])
          assert.equal(pulled.exitCode, 0, `${name}: ${pulled.stderr}`)
          assert.equal((await client(['image', 'inspect', '--format', '{{.Digest}}', `${server.authority}/team/app:1`])).stdout.trim(), image('oci/multi-layer').digest)
          const hostsDir = await writeHostsDir(await tempDir('hosts'), server.authority, server.url, server.url)
          const namespace = name.replace(' ', '-')
          const ctr = await containerd.pull(`${server.authority}/team/app:multi`, { hostsDir, namespace })
          assert.equal(ctr.exitCode, 0, `${name}: ${ctr.output}`)
          assert.equal(await containerd.imageDigest(`${server.authority}/team/app:multi`, namespace), image('oci/multi-arch').digest)
          assert.ok((await cdn.log()).length > before, `${name}: the blobs came from the CDN`)
        } finally {
          await server.stop()
        }
      }
    } finally {
      await containerd.stop()
      await rm(storage, { recursive: true, force: true })
    }
  })

  test('a client that sends credentials to the origin sends none to the CDN', async () => {
    // The origin asks for a login (nginx with basic auth in front of zreg serve); the CDN is public.
    const origin = await startZregServe(site)
    const htpasswd = join(await tempDir('htpasswd'), 'htpasswd')
    await writeFile(htpasswd, 'puller:{PLAIN}s3cret\n')
    const proxy = await startPlainNginx(
      (port) => `    server {
        listen 127.0.0.1:${port};
        auth_basic "zreg";
        auth_basic_user_file "${htpasswd}";
        location / { proxy_pass ${origin.url}; }
    }`,
    )
    const containerd: Containerd = await startContainerd()
    const storage = await mkdtemp(join(tmpdir(), 'zreg-podman-'))
    try {
      const refused = await rawRequest(proxy.url, 'GET', '/v2/')
      assert.equal(refused.status, 401)
      const before = (await cdn.log()).length
      const into = await tempDir('redirect-creds')
      await execa('skopeo', ['copy', '--retry-times', '0', '--src-tls-verify=false', '--src-creds', 'puller:s3cret', `docker://${proxy.authority}/team/app:1`, `dir:${into}`])
      const pulled = await podman(storage)(['pull', '--tls-verify=false', '--creds', 'puller:s3cret', `${proxy.authority}/team/app:multi`])
      assert.equal(pulled.exitCode, 0, pulled.stderr)
      const hostsDir = await writeHostsDir(await tempDir('hosts'), proxy.authority, proxy.url, proxy.url)
      const ctr = await containerd.pull(`${proxy.authority}/team/app:1`, { hostsDir, namespace: 'creds', user: 'puller:s3cret' })
      assert.equal(ctr.exitCode, 0, ctr.output)
      const fetched = (await cdn.log()).slice(before)
      assert.ok(fetched.length >= 3, 'the blobs came from the CDN')
      assert.deepEqual(
        fetched.filter((line) => !line.endsWith('auth=-')),
        [],
        'no request to the CDN carried the credentials',
      )
    } finally {
      await containerd.stop()
      await rm(storage, { recursive: true, force: true })
      await proxy.stop()
      await origin.stop()
    }
  })

  test("the config file's rules (env substituted) apply without --redirect, --redirect replaces them, and a change of rules rebuilds", async () => {
    const out = join(dir, 'rules')
    const config = join(dir, 'zreg.json')
    const rule = { repository: 'kept/*', mediaTypes: ['application/vnd.oci.image.layer.*'], to: '${ZREG_TEST_CDN}/{algorithm}/{hex}', status: 308 }
    await writeFile(config, JSON.stringify({ store, out, redirects: [rule] }))
    const env = { ZREG_TEST_CDN: 'https://cdn.example.com/blobs' }
    const redirectsOf = async () => new Map((await treeObjects(out)).objects.filter((object) => object.redirect).map((object) => [object.key, object.redirect!]))
    await zregOk(['build', '--config', config], { env })
    const layers = image('oci/single').blobs!.filter((digest) => digest !== image('oci/single').configDigest)
    const byConfig = await redirectsOf()
    assert.deepEqual([...byConfig.keys()].sort(), layers.map((digest) => `v2/kept/app/blobs/${digest}`).sort(), 'only the layers of kept/app (its config stays)')
    for (const [key, redirect] of byConfig) assert.deepEqual(redirect, { status: 308, location: `https://cdn.example.com/blobs/sha256/${key.slice(-64)}` })
    await zregOk(['build', '--config', config, '--redirect', `team/*=${mirrors[0]}`], { env })
    const byFlag = await redirectsOf()
    assert.ok([...byFlag.keys()].every((key) => key.startsWith('v2/team/app/')) && byFlag.size === blobs.get('team/app')!.redirected.length)
    for (const digest of blobs.get('kept/app')!.held) assert.ok((await readdir(join(out, 'v2', 'kept', 'app', 'blobs'))).includes(digest), 'held again')
    await zregOk(['build', '--store', store, '--out', out])
    assert.equal((await redirectsOf()).size, 0)
    const bad = await zreg(['build', '--store', store, '--out', out, '--redirect', 'team/*=ftp://cdn/{hex}'])
    assert.equal(bad.exitCode, 2)
    assert.match(bad.stderr, /--redirect\[0\]: "ftp:\/\/cdn\/\{hex\}" is not an absolute http\(s\) URL/)
    await writeFile(config, JSON.stringify({ store, out, redirects: [{ ...rule, status: 303 }] }))
    const badConfig = await zreg(['build', '--config', config], { env })
    assert.equal(badConfig.exitCode, 2)
    assert.match(badConfig.stderr, /redirects/)
  })

  test('zreg serve --redirect redirects blobs the tree holds, without a rebuild', async () => {
    const plain = join(dir, 'plain')
    await zregOk(['build', '--store', store, '--out', plain])
    const server = await startZregServe(plain, redirectFlags())
    try {
      await checkAnswers(server.url, 'zreg serve --redirect')
    } finally {
      await server.stop()
    }
  })

  test('publish to S3: a redirected blob is an empty object the website endpoint answers with a 301, from the build or publish --redirect', async () => {
    const s3: TestS3Server = await startS3Server(['site'], { website: ['site'] })
    try {
      await zregOk(['publish', 's3://site', '--out', site, '--endpoint', s3.endpoint, '--path-style'], { env: s3.env(), extendEnv: false })
      // s3rver tells a website request by its Host.
      const digest = blobs.get('team/app')!.redirected[0]!
      const answer = await rawRequest(s3.endpoint, 'GET', `/v2/team/app/blobs/${digest}`, { Host: 'site.s3-website.amazonaws.com' })
      assert.equal(answer.status, 301)
      assert.equal(answer.headers.location, locationOf(digest))
      const env = { ...cleanEnv(), HTTP_PROXY: s3.endpoint, http_proxy: s3.endpoint, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }
      await skopeoPullsAll('site.s3-website.amazonaws.com', 'S3 website', env)
      // Publish-time rules: a tree built without them, published with them, answers the same.
      const plain = join(dir, 'plain-for-s3')
      await zregOk(['build', '--store', store, '--out', plain])
      const published = JSON.parse((await zregOk(['publish', 's3://site/later', '--out', plain, '--endpoint', s3.endpoint, '--path-style', '--json', ...redirectFlags()], { env: s3.env(), extendEnv: false })).stdout) as { bytes: number }
      const later = await rawRequest(s3.endpoint, 'GET', `/later/v2/team/app/blobs/${digest}`, { Host: 'site.s3-website.amazonaws.com' })
      assert.equal(later.status, 301)
      assert.equal(later.headers.location, locationOf(digest))
      assert.ok(published.bytes < 100_000, 'the redirected blobs were not uploaded')
      // A dir: copy serves the build's redirects only: more rules are refused, the build's own pass.
      const refused = await zreg(['publish', `dir:${join(dir, 'copy')}`, '--out', plain, ...redirectFlags()])
      assert.equal(refused.exitCode, 2)
      assert.match(refused.stderr, /build it with these rules/)
      await zregOk(['publish', `dir:${join(dir, 'copy')}`, '--out', site, ...redirectFlags()])
    } finally {
      await s3.stop()
    }
  })

  test('publish --blobs-to sends the redirected blobs from the store to the CDN origin first (dir: and s3://), each once', async () => {
    const redirected = [...new Set(redirectedRepositories.flatMap((name) => blobs.get(name)!.redirected))]
    const cdnDir = join(dir, 'cdn-origin')
    const deployed = join(dir, 'deployed')
    const dry = JSON.parse((await zregOk(['publish', `dir:${deployed}`, '--out', site, '--blobs-to', `dir:${cdnDir}`, '--store', store, '--dry-run', '--json'])).stdout) as { blobs: { actions: { key: string }[] } }
    assert.deepEqual(dry.blobs.actions.map((action) => action.key).sort(), redirected.map((digest) => `sha256/${digest.slice(7)}`).sort())
    const first = JSON.parse((await zregOk(['publish', `dir:${deployed}`, '--out', site, '--blobs-to', `dir:${cdnDir}`, '--store', store, '--json'])).stdout) as { blobs: { copied: number; uploaded: number } }
    assert.equal(first.blobs.copied + first.blobs.uploaded, redirected.length)
    for (const digest of redirected) assert.equal(sha256(await readFile(join(cdnDir, 'sha256', digest.slice(7)))), digest)
    const again = JSON.parse((await zregOk(['publish', `dir:${deployed}`, '--out', site, '--blobs-to', `dir:${cdnDir}`, '--store', store, '--json'])).stdout) as { blobs: { skipped: number; uploaded: number } }
    assert.deepEqual([again.blobs.skipped, again.blobs.uploaded], [redirected.length, 0])
    const s3: TestS3Server = await startS3Server(['origin', 'cdn'])
    try {
      const args = ['publish', 's3://origin/site', '--out', site, '--blobs-to', 's3://cdn/blobs', '--store', store, '--endpoint', s3.endpoint, '--path-style', '--json']
      await zregOk(args, { env: s3.env(), extendEnv: false })
      const listed = (await s3.rclone(['lsf', '-R', 's3:cdn/blobs'])).split('\n').filter((line) => line.includes('/') && !line.endsWith('/'))
      assert.deepEqual(listed.sort(), redirected.map((digest) => `sha256/${digest.slice(7)}`).sort())
    } finally {
      await s3.stop()
    }
    // Another store than the tree was built from.
    const other = join(dir, 'other-store')
    await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'other:1', '--store', other])
    const wrongStore = await zreg(['publish', `dir:${join(dir, 'elsewhere')}`, '--out', site, '--blobs-to', `dir:${join(dir, 'cdn-2')}`, '--store', other])
    assert.equal(wrongStore.exitCode, 3, wrongStore.stderr)
    assert.match(wrongStore.stderr, /is not in the store: give --store/)
    await zregOk(['build', '--store', store, '--out', join(dir, 'unredirected')])
    const none = await zreg(['publish', `dir:${join(dir, 'elsewhere')}`, '--out', join(dir, 'unredirected'), '--blobs-to', `dir:${join(dir, 'cdn-2')}`, '--store', store])
    assert.equal(none.exitCode, 2)
    assert.match(none.stderr, /redirects no blobs/)
  })

  test('server-config for netlify lists each redirect before the 404 rules; s3 names each redirect location', async () => {
    const output = await tempDir('redirect-configs')
    await zregOk(['server-config', '--for', 'netlify', '--out', site, '--output', output])
    const redirects = (await readFile(join(output, '_redirects'), 'utf8')).split('\n')
    const headers = await readFile(join(output, '_headers'), 'utf8')
    for (const digest of blobs.get('team/app')!.redirected) {
      const line = redirects.indexOf(`/v2/team/app/blobs/${digest} ${locationOf(digest)} 307`)
      assert.ok(line > 0 && line < redirects.findIndex((rule) => rule.endsWith(' 404')), digest)
      assert.ok(!headers.includes(`/v2/team/app/blobs/sha256*${digest.slice(7)}`), 'no headers for a file the tree does not hold')
    }
    await zregOk(['server-config', '--for', 's3', '--out', site, '--output', output])
    const metadata = JSON.parse(await readFile(join(output, 's3-metadata.json'), 'utf8')) as Record<string, Record<string, string>>
    const digest = blobs.get('team/app')!.redirected[0]!
    assert.equal(metadata[`v2/team/app/blobs/${digest}`]!['Website-Redirect-Location'], locationOf(digest))
  })
})
