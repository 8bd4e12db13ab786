import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { formatSize } from '../../src/build/catalog-page.js'
import { zreg, zregOk } from '../helpers/cli.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, fixturesDir, loadFixtures, tempDir, workDir, type Fixtures } from '../helpers/paths.js'
import { startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'

const hostileText = `</td><script>document.title='pwned'</script><img src=x onerror="document.title='pwned'"> & "quoted" 'single'`
const hostileVariant = `"><script>document.title='pwned'</script>`
const addedPattern = /(\d{4}-\d\d-\d\d \d\d:\d\d) UTC/

async function putBlob(layout: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(bytes).digest('hex')
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}

/** An OCI layout whose annotations and platform fields hold markup: `hostile/app:1` (an image) and `:multi` (an index). */
async function makeHostileLayout(dir: string): Promise<string> {
  const layout = join(dir, 'hostile-layout')
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  const layer = await putBlob(layout, Buffer.from('hostile layer'))
  const config = await putBlob(layout, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
  const image = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      annotations: { 'org.opencontainers.image.description': hostileText },
    }),
  )
  const manifest = await putBlob(layout, image)
  const index = await putBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { os: 'linux', architecture: 'amd64', variant: hostileVariant } }],
      }),
    ),
  )
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const ref = (name: string) => ({ 'org.opencontainers.image.ref.name': name })
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: ref('1') },
        { mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: ref('multi') },
      ],
    }),
  )
  return layout
}

/** Every good fixture, as the shared site adds them, plus the hostile repository. */
async function addEverything(store: string, hostile: string): Promise<void> {
  const flags = ['--store', store]
  await zregOk(['add', `oci:${join(fixturesDir, 'oci-layout')}`, ...flags])
  await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'archived/single', ...flags])
  await zregOk(['add', absoluteSource('docker-archive:docker-old.tar'), ...flags])
  await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), ...flags])
  await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), '--format', 'oci', '--name', 'dockernew/app-oci:1.0', ...flags])
  await zregOk(['add', `oci:${hostile}`, '--name', 'hostile/app', ...flags])
}

/** Headless Chromium from Debian, with a profile of its own under test/.work. */
async function chromium(args: string[]): Promise<string> {
  const profile = join(workDir, 'chromium-profile')
  await mkdir(profile, { recursive: true })
  const result = await execa('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, ...args], { timeout: 120_000, stdin: 'ignore', reject: false })
  assert.equal(result.exitCode, 0, `chromium ${args.join(' ')}: ${String(result.stderr).slice(-2000)}`)
  return String(result.stdout)
}

/** The part of a page (raw or as Chromium rendered it) that shows one repository. */
function section(page: string, repository: string): string {
  const start = page.indexOf(`<b>${repository}</b>`)
  assert.ok(start >= 0, `the page shows the repository ${repository}`)
  const end = page.indexOf('</details>', start)
  return page.slice(start, end)
}

/** An image's bytes as a pull moves them, from the served manifest: manifest, config and layers. */
async function pulledSize(base: string, repository: string, digest: string): Promise<number> {
  const response = await rawRequest(base, 'GET', `/v2/${repository}/manifests/${digest}`, { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' })
  const manifest = JSON.parse(response.body.toString()) as { config: { size: number }; layers: { size: number }[] }
  return response.body.length + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0)
}

describe('the catalog page (index.html at the tree root)', () => {
  let dir: string
  let store: string
  let site: string
  let server: TestServer
  let fixtures: Fixtures
  let started: Date
  let raw: string
  let rendered: string

  before(async () => {
    fixtures = await loadFixtures()
    dir = await tempDir('catalog-page')
    store = join(dir, 'store')
    site = join(dir, 'site')
    started = new Date(Math.floor(Date.now() / 60_000) * 60_000)
    await addEverything(store, await makeHostileLayout(dir))
    await zregOk(['build', '--store', store, '--out', site])
    server = await startZregServe(site)
    raw = (await rawRequest(server.url, 'GET', '/')).body.toString()
    rendered = await chromium(['--dump-dom', `${server.url}/`])
  })
  after(async () => {
    await server?.stop()
  })

  test('headless Chromium renders it: a screenshot of the page', async (t) => {
    const shot = join(dir, 'catalog-page.png')
    await chromium([`--screenshot=${shot}`, '--window-size=1280,900', `${server.url}/`])
    const png = await readFile(shot)
    assert.equal(png.subarray(1, 4).toString(), 'PNG')
    assert.ok(png.length > 10_000, `a screenshot with content (${png.length} bytes)`)
    t.diagnostic(`screenshot: ${shot}`)
  })

  test('it shows every repository and tag, with the pull command naming the host it is served from', async () => {
    const catalog = JSON.parse((await rawRequest(server.url, 'GET', '/v2/_catalog')).body.toString()) as { repositories: string[] }
    assert.ok(catalog.repositories.length >= 8)
    let tags = 0
    for (const repository of catalog.repositories) {
      const list = JSON.parse((await rawRequest(server.url, 'GET', `/v2/${repository}/tags/list`)).body.toString()) as { tags: string[] }
      const shown = section(rendered, repository)
      for (const tag of list.tags) {
        tags++
        assert.ok(shown.includes(`docker pull <span class="h">${server.authority}</span>/${repository}:${tag}</code>`), `pull command of ${repository}:${tag}`)
      }
    }
    assert.match(rendered, new RegExp(`${catalog.repositories.length} repositories, ${tags} tags`))
    // Without JavaScript the command is whole too, naming the registry as a placeholder.
    assert.ok(raw.includes('docker pull <span class="h">&lt;registry&gt;</span>/fixtures/single:1.0'))
  })

  test('each tag shows its digest, platforms and sizes (manifest, config and layers), per platform of an index', async () => {
    for (const image of fixtures.images.filter((candidate) => candidate.digest !== null && candidate.name.includes(':'))) {
      const [repository, tag] = [image.name.slice(0, image.name.lastIndexOf(':')), image.name.slice(image.name.lastIndexOf(':') + 1)]
      const shown = section(rendered, repository)
      assert.ok(shown.includes(image.digest!), `${image.name}: digest ${image.digest}`)
      if (image.platform) assert.ok(shown.includes(`>${image.platform}<`), `${image.name}: platform ${image.platform}`)
      if (image.mediaType === 'application/vnd.oci.image.manifest.v1+json' && image.platform) {
        assert.ok(shown.includes(`>${formatSize(await pulledSize(server.url, repository, image.digest!))}<`), `${image.name}: size`)
      }
      assert.ok(shown.includes(`:${tag}`))
    }
    const multi = fixtures.images.find((image) => image.id === 'oci/multi-arch')!
    const shown = section(rendered, 'fixtures/multi-arch')
    const index = JSON.parse((await rawRequest(server.url, 'GET', `/v2/fixtures/multi-arch/manifests/${multi.digest}`, { Accept: 'application/vnd.oci.image.index.v1+json' })).body.toString()) as { manifests: { digest: string }[] }
    for (const [i, platform] of multi.platforms!.entries()) {
      const size = formatSize(await pulledSize(server.url, 'fixtures/multi-arch', index.manifests[i]!.digest))
      assert.match(shown, new RegExp(`<td>${platform}</td><td class="s">${size}</td>`), `multi-arch: ${platform} ${size}`)
    }
  })

  test('when each tag was added, recorded in the store (dev.zreg.added) and kept when the same image is added again', async () => {
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] }
    const single = index.manifests.find((entry) => entry.annotations['org.opencontainers.image.ref.name'] === 'fixtures/single:1.0')!
    const added = single.annotations['dev.zreg.added']!
    assert.match(added, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.ok(new Date(added) >= started && new Date(added) <= new Date())
    const shown = addedPattern.exec(section(rendered, 'fixtures/single'))
    assert.equal(shown?.[1], added.slice(0, 16).replace('T', ' '))
    // The same image again: the same time (the page and the tree do not change); another image: a new one.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', store])
    const again = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as typeof index
    assert.equal(again.manifests.find((entry) => entry.annotations['org.opencontainers.image.ref.name'] === 'fixtures/single:1.0')!.annotations['dev.zreg.added'], added)
  })

  test('the store records each image\'s platform on its index.json descriptor, so a build need not read its config', async () => {
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { mediaType: string; platform?: unknown; annotations: Record<string, string> }[] }
    const entry = (name: string) => index.manifests.find((candidate) => candidate.annotations['org.opencontainers.image.ref.name'] === name)!
    assert.deepEqual(entry('fixtures/single:1.0').platform, { os: 'linux', architecture: 'amd64' })
    assert.deepEqual(entry('dockerold/app:1.0').platform, { os: 'linux', architecture: 'amd64' })
    assert.equal(entry('fixtures/multi-arch:1.0').platform, undefined, 'an index has none')
    assert.equal(entry('fixtures/single:sbom').platform, undefined, 'an artifact has none')
  })

  test('a store written before zreg recorded add times and platforms: "-" for the time, the platform from the config', async () => {
    const copy = join(dir, 'old-store')
    await cp(store, copy, { recursive: true })
    const indexPath = join(copy, 'index.json')
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: { platform?: unknown; annotations: Record<string, string> }[] }
    for (const entry of index.manifests) {
      delete entry.annotations['dev.zreg.added']
      delete entry.platform
    }
    await writeFile(indexPath, JSON.stringify(index))
    const out = join(dir, 'old-site')
    await zregOk(['build', '--store', copy, '--out', out])
    const page = await readFile(join(out, 'index.html'), 'utf8')
    assert.ok(!addedPattern.test(page))
    assert.ok(section(page, 'fixtures/single').includes('<td class="t">-</td>'))
    assert.ok(section(page, 'fixtures/single').includes('<td>linux/amd64</td>'))
    assert.ok(section(page, 'dockerold/app').includes('<td>linux/amd64</td>'))
  })

  test('text from images is escaped: hostile annotations and platforms show as text and run nothing', () => {
    assert.match(rendered, /<title>Container registry<\/title>/, 'no script from an image ran')
    assert.ok(!rendered.includes('pwned</title>'))
    assert.ok(!/<img/i.test(rendered), 'no element from an image')
    const shown = section(rendered, 'hostile/app')
    assert.ok(shown.includes(`&lt;/td&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror="document.title='pwned'"&gt; &amp; "quoted" 'single'`), shown)
    assert.ok(shown.includes(`linux/amd64/"&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;`), shown)
    assert.equal((raw.match(/<script>/g) ?? []).length, 1, 'the page has its own script only')
  })

  test('no external requests: only inline content and relative links', async () => {
    // Attributes of the page's own elements (text from images is escaped: it holds no `<`).
    const urls = [...raw.matchAll(/<[a-z][^>]*>/gi)].flatMap((element) => [...element[0].matchAll(/\b(?:src|href|action|srcset|poster|data)\s*=\s*"?([^"\s>]*)/gi)].map((match) => match[1]!))
    assert.deepEqual(urls, ['v2/'])
    assert.ok(!/url\(|@import|https?:\/\//i.test(raw.replace(/<!--[^]*?-->/g, '')))
    // Chromium with every name but the server's unresolvable: it still renders the whole page.
    const offline = await chromium(['--dump-dom', '--host-resolver-rules=MAP * ~NOTFOUND', `${server.url}/`])
    assert.ok(offline.includes(`docker pull <span class="h">${server.authority}</span>/fixtures/multi-arch:1.0`))
  })

  test('readable without JavaScript: every row is in the HTML', async () => {
    // Chromium's --dump-dom needs JavaScript itself, so the page's own script is kept from running by a
    // Content-Security-Policy, as a browser with scripts off would.
    const noScript = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "script-src 'none'" })
      res.end(raw)
    })
    await new Promise<void>((resolve) => noScript.listen(0, '127.0.0.1', resolve))
    let plain: string
    try {
      plain = await chromium(['--dump-dom', `http://127.0.0.1:${(noScript.address() as AddressInfo).port}/`])
    } finally {
      noScript.close()
    }
    assert.ok(plain.includes('docker pull <span class="h">&lt;registry&gt;</span>/fixtures/multi-arch:1.0'))
    assert.ok(plain.includes('linux/arm64/v8'))
    assert.ok(!plain.includes('<button'), 'copy buttons only with JavaScript')
    assert.ok(rendered.includes('<button'))
  })

  test('zreg serve answers GET / and GET /index.html (and HEAD) with it: text/html, the short Cache-Control of what a build changes', async () => {
    for (const path of ['/', '/index.html']) {
      for (const method of ['GET', 'HEAD']) {
        const response = await rawRequest(server.url, method, path)
        assert.equal(response.status, 200, `${method} ${path}`)
        assert.equal(response.headers['content-type'], 'text/html; charset=utf-8')
        assert.equal(response.headers['cache-control'], 'public, max-age=60')
        assert.equal(Number(response.headers['content-length']), Buffer.byteLength(raw))
        if (method === 'GET') assert.equal(response.body.toString(), raw)
      }
    }
    // The page at the root of the tree (for plain servers) is the one zreg serve sends.
    assert.equal(await readFile(join(site, 'index.html'), 'utf8'), raw)
  })

  test('a tree without a page (built before it) answers 404 as before', async () => {
    const copy = join(dir, 'no-page')
    await cp(site, copy, { recursive: true, dereference: true })
    const sitePath = join(copy, '.zreg', 'site.json')
    const manifest = JSON.parse(await readFile(sitePath, 'utf8')) as { rootFiles: Record<string, unknown> }
    delete manifest.rootFiles['index.html']
    await writeFile(sitePath, JSON.stringify(manifest))
    await rm(join(copy, 'index.html'))
    const old = await startZregServe(copy)
    try {
      for (const path of ['/', '/index.html']) {
        const response = await rawRequest(old.url, 'GET', path)
        assert.equal(response.status, 404, path)
        assert.match(String(response.headers['content-type']), /^application\/json/)
      }
    } finally {
      await old.stop()
    }
  })

  test('a rebuild keeps the page current, and equals the page a build from scratch writes', async () => {
    const out = join(dir, 'rebuilt')
    await zregOk(['build', '--store', store, '--out', out])
    const before = await readlink(join(out, '.zreg'))
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--name', 'fixtures/single:2.0', '--store', store])
    const result = JSON.parse((await zregOk(['build', '--store', store, '--out', out, '--json'])).stdout) as { repositoriesWritten: number }
    assert.equal(result.repositoriesWritten, 1)
    assert.notEqual(await readlink(join(out, '.zreg')), before)
    const page = await readFile(join(out, 'index.html'), 'utf8')
    assert.ok(section(page, 'fixtures/single').includes('/fixtures/single:2.0</code>'))
    assert.equal(await readFile(join(out, '.zreg', 'index.html'), 'utf8'), page, 'the root page is the live generation\'s')
    const scratch = join(dir, 'scratch')
    await zregOk(['build', '--store', store, '--out', scratch])
    assert.equal(await readFile(join(scratch, 'index.html'), 'utf8'), page)
  })

  test('--public-host (or publicHost in the config file) names the registry in every pull command; JavaScript leaves it', async () => {
    const out = join(dir, 'public')
    await zregOk(['build', '--store', store, '--out', out, '--public-host', 'registry.example.com:5443'])
    const page = await readFile(join(out, 'index.html'), 'utf8')
    assert.ok(page.includes('docker pull <span class="h" data-fixed="">registry.example.com:5443</span>/fixtures/single:1.0'))
    assert.ok(!page.includes('&lt;registry&gt;'))
    const served = await startZregServe(out)
    try {
      const dom = await chromium(['--dump-dom', `${served.url}/`])
      assert.ok(dom.includes('docker pull <span class="h" data-fixed="">registry.example.com:5443</span>/fixtures/multi-arch:1.0'))
    } finally {
      await served.stop()
    }
    // Back to no host: the page takes the placeholder again.
    await zregOk(['build', '--store', store, '--out', out])
    assert.ok((await readFile(join(out, 'index.html'), 'utf8')).includes('&lt;registry&gt;</span>/fixtures/single:1.0'))
    const config = join(dir, 'zreg.json')
    await writeFile(config, JSON.stringify({ publicHost: 'mirror.example.org' }))
    await zregOk(['build', '--store', store, '--out', out, '--config', config])
    assert.ok((await readFile(join(out, 'index.html'), 'utf8')).includes('>mirror.example.org</span>/fixtures/single:1.0'))
  })

  test('an invalid --public-host is a usage error naming what is wrong, and nothing is built', async () => {
    const out = join(dir, 'bad-host')
    for (const host of ['https://registry.example.com', 'registry.example.com/path', '<b>x</b>', 'a b']) {
      const result = await zreg(['build', '--store', store, '--out', out, '--public-host', host])
      assert.equal(result.exitCode, 2, host)
      assert.match(result.stderr, /invalid --public-host .*expected the registry's HOST or HOST:PORT/)
    }
    await assert.rejects(readFile(join(out, 'index.html')))
    const config = join(dir, 'bad-host.json')
    await writeFile(config, JSON.stringify({ publicHost: 'http://x' }))
    const result = await zreg(['build', '--store', store, '--out', out, '--config', config])
    assert.equal(result.exitCode, 2)
    assert.match(result.stderr, /invalid publicHost in the config file "http:\/\/x"/)
  })

  test('push mode keeps the page current and answers GET / with it (no-cache: a push changes it at once)', async () => {
    const pushStore = join(dir, 'push-store')
    const pushSite = join(dir, 'push-site')
    const push = await startZregPush(pushStore, pushSite)
    try {
      const empty = await rawRequest(push.url, 'GET', '/')
      assert.equal(empty.status, 200)
      assert.match(empty.body.toString(), /0 repositories, 0 tags/)
      await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${join(fixturesDir, 'oci-layout')}:fixtures/multi-arch:1.0`, `docker://${push.authority}/pushed/multi:1.0`, '--all'])
      const page = await rawRequest(push.url, 'GET', '/index.html')
      assert.equal(page.status, 200)
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
      assert.equal(page.headers['cache-control'], 'no-cache')
      const shown = section(page.body.toString(), 'pushed/multi')
      assert.ok(shown.includes('linux/arm/v7') && addedPattern.test(shown))
      assert.equal(await readFile(join(pushSite, 'index.html'), 'utf8'), page.body.toString())
    } finally {
      await push.stop()
    }
  })
})
