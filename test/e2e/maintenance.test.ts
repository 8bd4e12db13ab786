import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, realpath, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { execa } from 'execa'
import { collectGarbage } from '../../src/maintenance/gc.js'
import type { Digest } from '../../src/oci/digest.js'
import { LayoutStore } from '../../src/store/layout-store.js'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pushFixture, startReferenceRegistry } from '../helpers/reference-registry.js'
import { startZregPush } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

interface LsJson {
  repositories: { name: string; tags: { tag: string; digest: string }[] }[]
}

interface GcJson {
  dryRun: boolean
  removed: { digest: string; size: number }[]
  bytes: number
  kept: number
  restored: number
}

/** Every `repository:tag -> digest` of a store. */
async function tagsOf(store: string): Promise<Map<string, string>> {
  const listed = JSON.parse((await zregOk(['ls', '--store', store, '--json'])).stdout) as LsJson
  return new Map(listed.repositories.flatMap((repository) => repository.tags.map((tag) => [`${repository.name}:${tag.tag}`, tag.digest] as const)))
}

const blobFile = (store: string, digest: string) => join(store, 'blobs', ...digest.split(':'))

describe('a store that lives for years: zreg tag, zreg rm, zreg gc', () => {
  let dir: string
  let image: (id: string) => FixtureImage
  /** Every blob of an image: its manifest, config and layers. */
  const blobsOf = (id: string) => [image(id).digest!, ...image(id).blobs!]

  before(async () => {
    dir = await tempDir('maintenance')
    const fixtures = await loadFixtures()
    image = (id) => fixtures.images.find((candidate) => candidate.id === id)!
  })

  test('zreg tag copies or moves a tag, across repositories; zreg rm removes a tag, or a manifest with its tags', async () => {
    const store = join(dir, 'tags')
    const s = ['--store', store]
    await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'app:1', ...s])
    await zregOk(['add', absoluteSource(image('oci/multi-layer').source), '--name', 'app:2', ...s])
    const single = image('oci/single').digest!
    const multi = image('oci/multi-layer').digest!
    const long = 'v'.repeat(128)
    await zregOk(['tag', 'app:1', 'other/deep/app:stable', ...s])
    await zregOk(['tag', `app@${multi}`, `app:${long}`, ...s])
    await zregOk(['tag', 'app:1', 'app:Latest', ...s])
    await zregOk(['tag', 'app:2', 'app:latest', ...s])
    const moved = JSON.parse((await zregOk(['tag', 'app:2', 'app:1', ...s, '--json'])).stdout) as { digest: string }
    assert.equal(moved.digest, multi)
    assert.deepEqual(
      [...(await tagsOf(store))].sort(),
      [
        ['app:1', multi],
        ['app:2', multi],
        ['app:Latest', single],
        [`app:${long}`, multi],
        ['app:latest', multi],
        ['other/deep/app:stable', single],
      ].sort(),
    )
    // Refused before anything is written: an unknown source, a name or tag no registry takes, a name the tree cannot hold.
    const before = await tagsOf(store)
    for (const [args, exit, message] of [
      [['app:nope', 'app:x'], 3, /app:nope is not in the store/],
      [['app:1', 'App:x'], 4, /invalid|not a valid/i],
      [['app:1', `app:${long}x`], 4, /tag/i],
      [['app:1', 'app/tags/list:1'], 4, /tree cannot hold/],
      [['app:1', `app@${multi}`], 4, /names a digest/],
    ] as const) {
      const result = await zreg(['tag', ...args, ...s])
      assert.equal(result.exitCode, exit, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
    }
    assert.deepEqual(await tagsOf(store), before)
    // A tag, then a manifest by digest with every tag naming it in its repository (other repositories keep theirs).
    await zregOk(['rm', 'app:Latest', ...s])
    const removed = JSON.parse((await zregOk(['rm', `app@${multi}`, ...s, '--json'])).stdout) as { removed: { tag?: string }[] }
    assert.deepEqual(removed.removed.map((ref) => ref.tag).sort(), ['1', '2', long, 'latest'].sort())
    assert.deepEqual([...(await tagsOf(store))], [['other/deep/app:stable', single]])
    const missing = await zreg(['rm', 'app:1', ...s])
    assert.equal(missing.exitCode, 3)
    for (const digest of blobsOf('oci/multi-layer')) assert.ok(existsSync(blobFile(store, digest)), 'the bytes stay until zreg gc')
  })

  test('zreg gc: --dry-run lists exactly what a run removes; what a tag names is kept, and so is what is younger than --grace', async () => {
    const store = join(dir, 'gc')
    const s = ['--store', store]
    await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'kept:1', ...s])
    await zregOk(['add', absoluteSource(image('oci/multi-arch').source), '--name', 'kept/index:1', ...s])
    await zregOk(['add', absoluteSource(image('oci/multi-layer').source), '--name', 'dropped:1', ...s])
    await zregOk(['rm', 'dropped:1', ...s])
    const keptBlobs = new Set([...blobsOf('oci/single'), ...blobsOf('oci/multi-arch')])
    const garbage = blobsOf('oci/multi-layer').filter((digest) => !keptBlobs.has(digest)).sort()
    assert.ok(garbage.length >= 3)
    // Just written: the default grace (an hour) keeps them.
    const young = JSON.parse((await zregOk(['gc', ...s, '--dry-run', '--json'])).stdout) as GcJson
    assert.deepEqual(young.removed, [])
    const dry = JSON.parse((await zregOk(['gc', ...s, '--dry-run', '--grace', '0', '--json'])).stdout) as GcJson
    assert.deepEqual(dry.removed.map((blob) => blob.digest).sort(), garbage)
    for (const digest of garbage) assert.ok(existsSync(blobFile(store, digest)), 'a dry run removes nothing')
    const run = JSON.parse((await zregOk(['gc', ...s, '--grace', '0s', '--json'])).stdout) as GcJson
    assert.deepEqual(run.removed.map((blob) => blob.digest).sort(), garbage)
    assert.equal(run.bytes, dry.bytes)
    for (const digest of garbage) assert.ok(!existsSync(blobFile(store, digest)))
    // Every index child and its blobs stay: a verify reads every reference whole.
    await zregOk(['verify', ...s])
    const again = JSON.parse((await zregOk(['gc', ...s, '--grace', '0', '--json'])).stdout) as GcJson
    assert.deepEqual(again.removed, [])
    const bad = await zreg(['gc', ...s, '--grace', 'soon'])
    assert.equal(bad.exitCode, 2)
    assert.match(bad.stderr, /--grace "soon" is not a duration/)
  })

  test('zreg verify --out checks the tree against the store: what it lists, what each tag names, every byte', async () => {
    const store = join(dir, 'verify-tree')
    const s = ['--store', store]
    await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'app:1', ...s])
    await zregOk(['add', absoluteSource(image('oci/multi-arch').source), '--name', 'app:multi', ...s])
    const site = join(dir, 'verify-site')
    await zregOk(['build', ...s, '--out', site])
    assert.match((await zregOk(['verify', ...s, '--out', site])).stdout, /^ok: .* and the tree /)
    // A copy of the tree holds its own files (not the store's): each is read and hashed.
    const copy = join(dir, 'verify-copy')
    await execa('cp', ['-a', site, copy])
    await zregOk(['verify', ...s, '--out', copy])
    const layer = image('oci/single').blobs!.find((digest) => digest !== image('oci/single').configDigest)!
    const file = join(copy, 'v2', 'app', 'blobs', layer)
    const bytes = await readFile(file)
    bytes[0] = bytes[0]! ^ 1
    await execa('sh', ['-c', 'cat > "$1"', 'sh', await realpath(file)], { input: bytes })
    // The store moved on since the build: a tag moved, another added.
    await zregOk(['tag', 'app:multi', 'app:1', ...s])
    await zregOk(['tag', 'app:multi', 'other:1', ...s])
    const checked = await zreg(['verify', ...s, '--out', copy, '--json'])
    assert.equal(checked.exitCode, 4)
    const problems = (JSON.parse(checked.stdout) as { problems: { kind: string; reference: string; message: string }[] }).problems.filter((problem) => problem.kind === 'tree')
    const about = (reference: string) => problems.find((problem) => problem.reference === reference)?.message ?? ''
    assert.match(about(`v2/app/blobs/${layer}`), /its bytes hash to/)
    assert.match(about('v2/app/manifests/1'), /but the store tags/)
    assert.match(about('v2/other'), /in the store but not in the tree/)
  })

  test('a writer that reaches for a blob while gc sweeps keeps it, on either side of the move', async () => {
    const multi = image('oci/multi-layer')
    const blobs = blobsOf('oci/multi-layer')
    const bytesOf = (digest: string) => readFile(join(fixturesDir, 'oci-layout', 'blobs', ...digest.split(':')))
    for (const moment of ['marked', 'movedAside'] as const) {
      const location = join(dir, `race-${moment}`)
      await zregOk(['add', absoluteSource(multi.source), '--name', 'old:1', '--store', location])
      await zregOk(['rm', 'old:1', '--store', location])
      const store = await LayoutStore.open(location)
      const staging = await store.stage()
      // As an ingest does: it looks for each blob, and writes only what the store lacks. After the mark,
      // every blob is still there (the writer relies on it); once moved aside, none is (it writes them).
      let found = 0
      const reach = async () => {
        for (const digest of blobs) {
          if ((await staging.blobStat(digest as Digest)) !== undefined) found++
          else await staging.blobPut(Readable.from([await bytesOf(digest)]), { digest: digest as Digest })
        }
      }
      const result = await collectGarbage(store, { graceMs: 0, during: { [moment]: reach } })
      assert.equal(found, moment === 'marked' ? blobs.length : 0, moment)
      assert.deepEqual(result.removed, [], moment)
      await staging.commit([{ repository: 'new', tag: '1', descriptor: { mediaType: multi.mediaType!, digest: multi.digest as Digest, size: multi.size! } }])
      await zregOk(['verify', '--store', location])
      assert.equal((await tagsOf(location)).get('new:1'), multi.digest)
    }
  })

  test('zreg gc in a loop while 20 pushes and a sync write into the store: nothing they rely on is lost', async () => {
    const store = join(dir, 'busy')
    const s = ['--store', store]
    // Garbage the writers will write again (multi-layer), and garbage nobody writes (multi-arch).
    await zregOk(['add', absoluteSource(image('oci/multi-layer').source), '--name', 'old/app:1', ...s])
    await zregOk(['add', absoluteSource(image('oci/multi-arch').source), '--name', 'old/index:1', ...s])
    await zregOk(['rm', 'old/app:1', ...s])
    await zregOk(['rm', 'old/index:1', ...s])
    const registry = await startReferenceRegistry()
    const push = await startZregPush(store, join(dir, 'busy-site'))
    try {
      await pushFixture(join(fixturesDir, 'oci-layout'), 'fixtures/multi-layer:1.0', registry.authority, 'up/app:1')
      await pushFixture(join(fixturesDir, 'oci-layout'), 'fixtures/single:1.0', registry.authority, 'up/small:1')
      const syncFile = join(dir, 'sync.yaml')
      await writeFile(syncFile, `${registry.authority}:\n  tls-verify: false\n  images:\n    up/app: ["1"]\n    up/small: ["1"]\n`)
      let writing = true
      const sweeps: GcJson[] = []
      const gcLoop = (async () => {
        while (writing) {
          const result = await zreg(['gc', ...s, '--grace', '0', '--json'])
          assert.equal(result.exitCode, 0, result.stderr)
          sweeps.push(JSON.parse(result.stdout) as GcJson)
        }
      })()
      // Tags moving all the while: multi-layer's blobs are named, then garbage, then named again.
      const churn = (async () => {
        while (writing) {
          await zregOk(['add', absoluteSource(image('oci/multi-layer').source), '--name', 'churn/app:1', ...s])
          await zregOk(['rm', 'churn/app:1', ...s])
        }
      })()
      // 20 pushes, four at a time, so the sweeps meet them all along.
      const pushOne = async (i: number) => {
        const id = i % 2 === 0 ? 'oci/multi-layer' : 'oci/single'
        await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', absoluteSource(image(id).source), `docker://${push.authority}/pushed/app-${i}:1`])
        return [`pushed/app-${i}:1`, image(id).digest!] as const
      }
      const sync = zregOk(['sync', syncFile, ...s], { env: { REGISTRY_AUTH_FILE: '', ZREG_CREDS: '' } })
      const pushed: (readonly [string, string])[] = []
      try {
        for (let wave = 0; wave < 5; wave++) pushed.push(...(await Promise.all([0, 1, 2, 3].map((j) => pushOne(wave * 4 + j)))))
        await sync
      } finally {
        writing = false
      }
      await gcLoop
      await churn
      assert.ok(sweeps.length >= 4, `${sweeps.length} sweeps ran meanwhile`)
      const freed = new Set(sweeps.flatMap((sweep) => sweep.removed.map((blob) => blob.digest)))
      assert.ok(blobsOf('oci/multi-arch').some((digest) => freed.has(digest)), 'the garbage nobody wrote again was freed')
      await zregOk(['verify', ...s])
      const tags = await tagsOf(store)
      assert.equal(tags.get('up/app:1'), image('oci/multi-layer').digest)
      assert.equal(tags.get('up/small:1'), image('oci/single').digest)
      const into = await tempDir('busy-pulls')
      for (const [name, digest] of pushed) {
        assert.equal(tags.get(name), digest)
        assert.equal(await skopeoPull(`docker://${push.authority}/${name}`, join(into, name.replace(/[/:]/g, '-'))), digest, name)
      }
      // Settled: one more sweep removes nothing anything names, and the store still verifies.
      await zregOk(['gc', ...s, '--grace', '0'])
      await zregOk(['verify', ...s])
    } finally {
      await push.stop()
      await registry.stop()
    }
  })
})
