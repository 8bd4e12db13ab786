import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { zreg, zregOk } from '../helpers/cli.js'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pushFixture, startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js'
import { startZregServe } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const layout = join(fixturesDir, 'oci-layout')

interface Summary {
  images: { source: string; target: string; status: string; digest?: string; blobs?: number; bytes?: number; error?: { code: string; message: string } }[]
  pruned: { repository: string; tag: string }[]
  failed: number
}

/** The store's tags, `repository:tag`, sorted. */
async function storedTags(store: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] }
  return index.manifests.map((entry) => entry.annotations?.['org.opencontainers.image.ref.name']).filter((name): name is string => name !== undefined).sort()
}

/** Copies a manifest to more tags with plain PUTs, as a registry client re-tagging does (cheaper than a push per tag). */
async function retag(registryUrl: string, repository: string, from: string, tags: string[]): Promise<void> {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'
  const got = await fetch(`${registryUrl}/v2/${repository}/manifests/${from}`, { headers: { accept } })
  assert.equal(got.status, 200)
  const type = got.headers.get('content-type')!
  const body = Buffer.from(await got.arrayBuffer())
  for (const tag of tags) {
    const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': type }, body })
    assert.equal(put.status, 201, await put.text())
  }
}

describe('zreg sync from the reference registry', () => {
  let registry: ReferenceRegistry
  let proxy: FaultProxy
  let work: string
  let env: Record<string, string>
  let multi: FixtureImage
  let single: FixtureImage

  before(async () => {
    const fixtures = await loadFixtures()
    multi = fixtures.images.find((image) => image.id === 'oci/multi-arch')!
    single = fixtures.images.find((image) => image.id === 'oci/single')!
    work = await tempDir('sync')
    env = { HOME: work, XDG_RUNTIME_DIR: join(work, 'run'), REGISTRY_AUTH_FILE: '', ZREG_CREDS: '' }
    registry = await startReferenceRegistry()
    await pushFixture(layout, 'fixtures/multi-arch:1.0', registry.authority, 'up/multi:1.0')
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/small:1.0')
    await pushFixture(layout, 'fixtures/multi-layer:1.0', registry.authority, 'up/app:1.0.0')
    await retag(registry.url, 'up/app', '1.0.0', ['1.1.0', '1.2.0', '1.10.0', '2.0.0', '2.1.0-rc1', 'v2.2', 'latest', 'dev-abc'])
    proxy = await startFaultProxy(registry.url)
  })

  after(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  async function writeSyncFile(name: string, body: string): Promise<string> {
    const file = join(work, name)
    await writeFile(file, body)
    return file
  }

  async function syncJson(args: string[]): Promise<{ exitCode: number; summary: Summary; stderr: string }> {
    const result = await zreg(['sync', ...args, '--json'], { env })
    return { exitCode: result.exitCode, summary: JSON.parse(result.stdout) as Summary, stderr: result.stderr }
  }

  test('skopeo sync YAML: lists, every tag, regex and semver; a second run fetches no blob', async () => {
    const file = await writeSyncFile(
      'mirror.yaml',
      `${proxy.authority}:
  tls-verify: false
  images:
    up/multi: ["1.0"]
    up/small: []
  images-by-tag-regex:
    up/app: ^1\\.[0-9]+\\.0$
`,
    )
    const store = join(work, 'store')
    const first = await syncJson([file, '--store', store])
    assert.equal(first.exitCode, 0, first.stderr)
    assert.deepEqual(first.summary.images.map((image) => [image.target, image.status]).sort(), [
      ['up/app:1.0.0', 'fetched'],
      ['up/app:1.1.0', 'fetched'],
      ['up/app:1.10.0', 'fetched'],
      ['up/app:1.2.0', 'fetched'],
      ['up/multi:1.0', 'fetched'],
      ['up/small:1.0', 'fetched'],
    ])
    assert.equal(first.summary.images.find((image) => image.target === 'up/multi:1.0')!.digest, multi.digest)
    await zregOk(['verify', '--store', store])
    // The four up/app tags are one image: each of its blobs was downloaded once.
    const blobGets = proxy.requests.filter((request) => request.method === 'GET' && request.path.includes('/blobs/')).map((request) => request.path)
    assert.deepEqual(blobGets.filter((path, i) => blobGets.indexOf(path) !== i), [])

    proxy.reset()
    const second = await syncJson([file, '--store', store])
    assert.equal(second.exitCode, 0, second.stderr)
    assert.ok(second.summary.images.every((image) => image.status === 'unchanged' && image.blobs === 0), JSON.stringify(second.summary))
    assert.deepEqual(proxy.requests.filter((request) => request.path.includes('/blobs/')), [])
    // One manifest request per tag (plus the tag lists and the ping).
    assert.equal(proxy.requests.filter((request) => request.path.includes('/manifests/')).length, 6)

    const out = join(work, 'site')
    await zregOk(['build', '--store', store, '--out', out])
    const server = await startZregServe(out)
    try {
      assert.equal(await skopeoPull(`docker://${server.authority}/up/multi:1.0`, join(work, 'pulled-multi'), { all: true }), multi.digest)
      assert.equal(await skopeoPull(`docker://${server.authority}/up/small:1.0`, join(work, 'pulled-small')), single.digest)
    } finally {
      await server.stop()
    }
  })

  test("zreg's keys: semver with keep-last, platforms and a prefix", async () => {
    // An anchor holder selects nothing and is not contacted; keep-last counts every selector of a repository.
    const file = await writeSyncFile(
      'keys.yaml',
      `base: &base
  keep-last: 2
${registry.authority}:
  <<: *base
  images:
    up/app: ["1.0.0"]
  images-by-semver:
    up/app: ">= 1.1, < 3"
  prefix: mirror/
`,
    )
    const store = join(work, 'keys')
    const { exitCode, stderr } = await syncJson([file, '--store', store])
    assert.equal(exitCode, 0, stderr)
    // 1.1.0 1.2.0 1.10.0 2.0.0 v2.2 are in the range (2.1.0-rc1 is a pre-release); the two newest are kept.
    assert.deepEqual(await storedTags(store), ['mirror/up/app:2.0.0', 'mirror/up/app:v2.2'])

    const platforms = await writeSyncFile(
      'platforms.yaml',
      `${registry.authority}:
  images:
    up/multi: ["1.0"]
  platforms: [linux/arm64, linux/amd64]
`,
    )
    const narrowed = await syncJson([platforms, '--store', store])
    assert.equal(narrowed.exitCode, 0, narrowed.stderr)
    const digest = narrowed.summary.images[0]!.digest!
    const index = JSON.parse(await readFile(join(store, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as { manifests: { platform: { architecture: string } }[] }
    assert.deepEqual(index.manifests.map((child) => child.platform.architecture).sort(), ['amd64', 'arm64'])
    const again = await syncJson([platforms, '--store', store])
    assert.equal(again.summary.images[0]!.status, 'unchanged')
    await zregOk(['verify', '--store', store])
  })

  test('one failing image stops nothing else: exit 5, the others stored, the summary says which', async () => {
    const file = await writeSyncFile(
      'partial.yaml',
      `${registry.authority}:
  images:
    up/small: ["1.0", "nope"]
    up/gone: []
`,
    )
    const store = join(work, 'partial')
    const result = await syncJson([file, '--store', store])
    assert.equal(result.exitCode, 5, result.stderr)
    assert.deepEqual(await storedTags(store), ['up/small:1.0'])
    const failed = result.summary.images.filter((image) => image.status === 'failed')
    assert.equal(failed.length, 2, JSON.stringify(result.summary))
    assert.ok(failed.every((image) => image.error !== undefined))
    assert.match(result.stderr, /SYNC|failed/)
  })

  test('--dry-run writes nothing; --prune removes the tags the selection no longer names', async () => {
    const store = join(work, 'prune')
    const all = await writeSyncFile('all.yaml', `${registry.authority}:\n  images:\n    up/app: ["1.0.0", "1.1.0", "2.0.0"]\n`)
    const dry = await syncJson([all, '--store', store, '--dry-run'])
    assert.equal(dry.exitCode, 0, dry.stderr)
    assert.deepEqual(dry.summary.images.map((image) => image.status), ['would-fetch', 'would-fetch', 'would-fetch'])
    await assert.rejects(readFile(join(store, 'index.json')))

    await zregOk(['sync', all, '--store', store], { env })
    const fewer = await writeSyncFile('fewer.yaml', `${registry.authority}:\n  images:\n    up/app: ["1.1.0"]\n`)
    await zregOk(['sync', fewer, '--store', store], { env })
    assert.deepEqual(await storedTags(store), ['up/app:1.0.0', 'up/app:1.1.0', 'up/app:2.0.0'])
    const wouldPrune = await syncJson([fewer, '--store', store, '--prune', '--dry-run'])
    assert.deepEqual(wouldPrune.summary.pruned.map((ref) => ref.tag).sort(), ['1.0.0', '2.0.0'])
    assert.equal((await storedTags(store)).length, 3)
    const pruned = await syncJson([fewer, '--store', store, '--prune'])
    assert.deepEqual(pruned.summary.pruned.map((ref) => ref.tag).sort(), ['1.0.0', '2.0.0'])
    assert.deepEqual(await storedTags(store), ['up/app:1.1.0'])
  })

  test('a sync file with a mistake: exit 2, the message names the key and line', async () => {
    const file = await writeSyncFile('bad.yaml', `${registry.authority}:\n  images:\n    up/app: ["1.0.0"]\n  images-by-semver:\n    up/app: "banana"\n`)
    const result = await zreg(['sync', file, '--store', join(work, 'bad')], { env })
    assert.equal(result.exitCode, 2, result.stderr)
    assert.match(result.stderr, /line 5/)
  })
})
