import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, cliPath, loadFixtures, repoRoot, tempDir } from '../helpers/paths.js'
import { rawRequest } from '../helpers/http.js'
import { startZregServe } from '../helpers/servers.js'
import { sharedSite, type SharedSite } from '../helpers/shared-site.js'
import { skopeoPull } from '../helpers/skopeo.js'
import { treeDigest } from '../helpers/tree.js'
import { makeScaleStore } from '../helpers/scale-store.js'
import { execa } from 'execa'
import { repositoryHeadersPath, treePaths } from '../../src/build/tree-paths.js'
import { buildSite } from '../../src/build/build-site.js'
import { LayoutStore } from '../../src/store/layout-store.js'
import { tempPathBeside } from '../../src/store/atomic.js'
import { verifyTree } from '../../src/query/verify-tree.js'

interface SiteJson {
  repositories: Record<string, string>
  rootFiles: Record<string, unknown>
}

/** The tree as sorted lines of path and headers: what the golden file pins. */
async function describeTree(site: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(site, '.zreg', 'site.json'), 'utf8')) as SiteJson
  const lines: string[] = []
  for (const [path, headers] of Object.entries(manifest.rootFiles)) lines.push(`${path} ${JSON.stringify(headers)}`)
  for (const [name, key] of Object.entries(manifest.repositories)) {
    const headers = JSON.parse(await readFile(repositoryHeadersPath(treePaths(site), key), 'utf8')) as Record<string, unknown>
    for (const [path, entry] of Object.entries(headers)) lines.push(`v2/${name}/${path} ${JSON.stringify(entry)}`)
  }
  return `${lines.sort().join('\n')}\n`
}

/** What objects/ should hold: the directories of the kept generations' repositories and the files beside them, sorted. */
async function keptObjects(out: string): Promise<string[]> {
  const paths = treePaths(out)
  const keys = new Set<string>()
  for (const generation of await readdir(paths.generations)) {
    const site = JSON.parse(await readFile(join(paths.generations, generation, '.zreg', 'site.json'), 'utf8')) as SiteJson
    for (const key of Object.values(site.repositories)) keys.add(key)
  }
  return [...keys].flatMap((key) => [key, `${key}.caddy.map`, `${key}.headers.json`, `${key}.nginx.map`, `${key}.page.html`]).sort()
}

/** Every file of a generation, by path under it: bytes, but the refs memo parsed (its maps' order is free). */
async function generationFiles(out: string, generation: string): Promise<Map<string, unknown>> {
  const dir = join(treePaths(out).generations, generation)
  const files = new Map<string, unknown>()
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const text = await readFile(path, 'utf8')
    files.set(path.slice(dir.length + 1), entry.name === 'refs-memo.json' ? JSON.parse(text) : text)
  }
  return files
}

async function tagsOf(url: string, repository: string): Promise<string[]> {
  const response = await rawRequest(url, 'GET', `/v2/${repository}/tags/list`)
  return (JSON.parse(response.body.toString()) as { tags: string[] }).tags
}

describe('zreg build', () => {
  let shared: SharedSite
  before(async () => {
    shared = await sharedSite()
  })

  test('writes the tree the golden file describes (ZREG_UPDATE_GOLDEN=1 regenerates it)', async () => {
    const golden = join(repoRoot, 'test', 'golden', 'build-tree.txt')
    const actual = await describeTree(shared.site)
    if (process.env.ZREG_UPDATE_GOLDEN === '1') await writeFile(golden, actual)
    assert.equal(actual, await readFile(golden, 'utf8'))
    for (const code of ['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN']) {
      const body = JSON.parse(await readFile(join(shared.site, '.zreg', 'errors', `${code}.json`), 'utf8')) as { errors: { code: string }[] }
      assert.equal(body.errors[0]?.code, code)
    }
  })

  test('is reproducible: the same store gives a byte-identical tree', async () => {
    const out = join(await tempDir('repro'), 'site')
    await zregOk(['build', '--store', shared.store, '--out', out])
    const [a, b] = await Promise.all([treeDigest(shared.site), treeDigest(out)])
    const served = (tree: Map<string, string>) => [...tree].filter(([path]) => path.startsWith('v2/'))
    assert.deepEqual(served(a), served(b))
    const generation = (tree: string) => readlink(join(tree, '.zreg')).then((target) => target.split('/').at(-2))
    assert.equal(await generation(out), await generation(shared.site))
  })

  test('links blobs to the store instead of copying their bytes', async () => {
    const layer = (await readdir(join(shared.site, 'v2', 'fixtures', 'single', 'blobs')))[0]!
    const inTree = await stat(join(shared.site, 'v2', 'fixtures', 'single', 'blobs', layer))
    const inStore = await stat(join(shared.store, 'blobs', 'sha256', layer.slice('sha256:'.length)))
    assert.equal(inTree.ino, inStore.ino)
  })

  test('is incremental and atomic: a one-tag change rewrites one repository and a running server sees it', async () => {
    const dir = await tempDir('incremental')
    const store = join(dir, 'store')
    const out = join(dir, 'site')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', store])
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--store', store])
    const first = JSON.parse((await zregOk(['build', '--store', store, '--out', out, '--json'])).stdout) as { repositoriesWritten: number; changed: boolean }
    assert.equal(first.repositoriesWritten, 2)
    const again = JSON.parse((await zregOk(['build', '--store', store, '--out', out, '--json'])).stdout) as { changed: boolean }
    assert.equal(again.changed, false)
    const unchangedFile = join(out, 'v2', 'fixtures', 'multi-layer', 'tags', 'list')
    const before = await stat(unchangedFile)

    const server = await startZregServe(out)
    try {
      assert.deepEqual(await tagsOf(server.url, 'fixtures/single'), ['1.0'])
      // Requests keep flowing while the tree is rebuilt and swapped: none may fail.
      let stop = false
      const statuses: number[] = []
      const load = (async () => {
        while (!stop) statuses.push((await rawRequest(server.url, 'GET', '/v2/fixtures/single/manifests/1.0', { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status)
      })()
      await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', 'fixtures/single:2.0', '--store', store])
      const second = JSON.parse((await zregOk(['build', '--store', store, '--out', out, '--json'])).stdout) as { repositoriesWritten: number }
      assert.equal(second.repositoriesWritten, 1)
      // Each serve worker picks up the rebuild on its own (requests go round-robin): wait for all of them.
      const seenByAll = async () => (await Promise.all(Array.from({ length: 8 }, () => tagsOf(server.url, 'fixtures/single')))).every((tags) => tags.length === 2)
      const deadline = Date.now() + 5000
      while (Date.now() < deadline && !(await seenByAll())) await new Promise((r) => setTimeout(r, 50))
      stop = true
      await load
      assert.deepEqual(await tagsOf(server.url, 'fixtures/single'), ['1.0', '2.0'])
      assert.ok(statuses.length > 0 && statuses.every((status) => status === 200), `statuses during the swap: ${[...new Set(statuses)].join(',')}`)
    } finally {
      await server.stop()
    }
    assert.equal((await stat(unchangedFile)).ino, before.ino, 'the unchanged repository was not rewritten')
  })

  test('a kill -9 in the middle of a rebuild leaves the last good tree, and the next build completes it', async () => {
    const dir = await tempDir('killed-build')
    const store = join(dir, 'store')
    const out = join(dir, 'site')
    await makeScaleStore(store, 400, 2)
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', 'first/image:1', '--store', store])
    await zregOk(['build', '--store', store, '--out', out, '--default-platform', 'linux/arm64'])
    const before = await readlink(join(out, '.zreg'))
    // A different default platform changes every repository: the next build rewrites them all.
    for (const delay of [150, 400, 800]) {
      const child = execa(cliPath, ['build', '--store', store, '--out', out], { reject: false })
      await new Promise((resolve) => setTimeout(resolve, delay))
      child.kill('SIGKILL')
      await child
      const live = await readlink(join(out, '.zreg'))
      assert.ok(live === before || (await stat(join(out, '.zreg', 'site.json')).then(() => true)), `a whole generation is live after a kill at ${delay} ms`)
      const server = await startZregServe(out)
      try {
        assert.equal((await rawRequest(server.url, 'GET', '/v2/first/image/tags/list')).status, 200)
        assert.equal((await rawRequest(server.url, 'GET', '/v2/scale/r399/manifests/t1', { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status, 200)
      } finally {
        await server.stop()
      }
    }
    await zregOk(['build', '--store', store, '--out', out])
    const final = JSON.parse(await readFile(join(out, '.zreg', 'site.json'), 'utf8')) as { defaultPlatform: string; repositories: Record<string, string> }
    assert.equal(final.defaultPlatform, 'linux/amd64')
    assert.equal(Object.keys(final.repositories).length, 401)
    assert.ok(!existsSync(join(treePaths(out).root, 'v2.updating')), 'the literal tree was brought up to date')
    assert.deepEqual((await readdir(treePaths(out).objects)).sort(), await keptObjects(out), 'nothing the killed builds wrote is left')
  })

  test('keeps three generations, removes what only older ones used, and sweeps what a dead build left', async () => {
    const dir = await tempDir('retention')
    const store = join(dir, 'store')
    const out = join(dir, 'site')
    const paths = treePaths(out)
    await makeScaleStore(store, 4, 3)
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] }
    const build = async () => (await buildSite(await LayoutStore.open(store), { out })).generation
    // Each build points scale/r0:t0 and :t1 at other manifests of scale/r0 (a new directory for it, the
    // others kept); the last goes back to a state whose generation and directory were removed.
    const digests = index.manifests.map((manifest) => manifest.digest)
    const generations = [await build()]
    for (const [t0, t1] of [[1, 1], [2, 1], [2, 0], [1, 0], [1, 1]] as const) {
      index.manifests[0]!.digest = digests[t0]!
      index.manifests[1]!.digest = digests[t1]!
      await writeFile(join(store, 'index.json'), JSON.stringify(index))
      generations.push(await build())
    }
    assert.equal(new Set(generations.slice(0, 5)).size, 5)
    assert.equal(generations[5], generations[1])
    assert.deepEqual((await readdir(paths.generations)).sort(), generations.slice(-3).sort())
    const objects = async () => (await readdir(paths.objects)).sort()
    assert.deepEqual(await objects(), await keptObjects(out), 'objects/ holds what the kept generations use, and nothing else')

    // What a build killed between writing a repository and making its generation live leaves behind.
    await mkdir(join(tempPathBeside(join(paths.objects, 'e'.repeat(64))), 'manifests'), { recursive: true })
    await mkdir(join(paths.objects, 'f'.repeat(64)))
    await writeFile(join(paths.objects, `${'f'.repeat(64)}.headers.json`), '{}')
    // ... and one killed while writing its generation (the newest directory there, so never kept for that).
    await mkdir(join(tempPathBeside(join(paths.generations, 'd'.repeat(64))), '.zreg'), { recursive: true })
    await writeFile(join(paths.root, 'build.pending'), '')
    const recovered = await buildSite(await LayoutStore.open(store), { out })
    assert.equal(recovered.generation, generations.at(-1))
    assert.deepEqual((await readdir(paths.generations)).sort(), generations.slice(-3).sort(), 'the half-written generation is gone')
    assert.deepEqual(await objects(), await keptObjects(out), 'the next build swept what the dead one left')
    assert.ok(!existsSync(join(paths.root, 'build.pending')))
    const server = await startZregServe(out)
    try {
      for (let r = 0; r < 4; r++) assert.equal((await rawRequest(server.url, 'GET', `/v2/scale/r${r}/tags/list`)).status, 200)
    } finally {
      await server.stop()
    }
  })

  test('a repository naming a blob the store lacks is left out alone, with nothing half-written, and the rest of the tree checks out', async () => {
    const dir = await tempDir('missing-blob')
    const store = join(dir, 'store')
    const out = join(dir, 'site')
    await makeScaleStore(store, 300, 2)
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] }
    // scale/r7:t1 names a layer the store lacks: found only when its directory is written.
    const entry = index.manifests.find((manifest) => manifest.annotations['org.opencontainers.image.ref.name'] === 'scale/r7:t1')!
    const manifest = JSON.parse(await readFile(join(store, 'blobs', 'sha256', entry.digest.slice('sha256:'.length)), 'utf8')) as { layers: { digest: string; size: number }[] }
    const missing = `sha256:${createHash('sha256').update('not stored').digest('hex')}`
    manifest.layers.push({ ...manifest.layers[0]!, digest: missing, size: 10 })
    const bytes = Buffer.from(JSON.stringify(manifest))
    entry.digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    await writeFile(join(store, 'blobs', 'sha256', entry.digest.slice('sha256:'.length)), bytes)
    await writeFile(join(store, 'index.json'), JSON.stringify(index))
    const layout = await LayoutStore.open(store)
    const result = await buildSite(layout, { out })
    assert.equal(result.repositoriesWritten, 299)
    assert.equal(result.tags, 598)
    assert.deepEqual(result.skipped.map((skipped) => skipped.repository), ['scale/r7'])
    assert.match(result.skipped[0]!.reason, new RegExp(`blob ${missing} is referenced but not in the store`))
    // Every other file of the tree has the store's bytes and its headers.
    assert.deepEqual(
      (await verifyTree(out, layout)).map((problem) => problem.reference),
      ['v2/scale/r7'],
    )
    const paths = treePaths(out)
    assert.deepEqual((await readdir(paths.objects)).sort(), await keptObjects(out), 'no half-written directory is left')
    const server = await startZregServe(out)
    try {
      assert.deepEqual(await tagsOf(server.url, 'scale/r299'), ['t0', 't1'])
      assert.equal((await rawRequest(server.url, 'GET', '/v2/scale/r7/tags/list')).status, 404)
    } finally {
      await server.stop()
    }
  })

  test('a rebuild reads only what the store journals as changed, and builds the tree a whole read builds; any write it cannot account for makes it read everything', async () => {
    const dir = await tempDir('journal')
    const storeDir = join(dir, 'store')
    const out = join(dir, 'site')
    await makeScaleStore(storeDir, 6, 3)
    const store = await LayoutStore.open(storeDir)
    // The scale store's index.json was written directly: the first build reads it whole.
    let fresh = 0
    const check = async (expected: 'changes' | 'all', why: string) => {
      const result = await buildSite(await LayoutStore.open(storeDir), { out })
      assert.equal(result.surveyedBy, expected, why)
      const whole = await buildSite(await LayoutStore.open(storeDir), { out: join(dir, `fresh-${fresh++}`) })
      assert.equal(whole.surveyedBy, 'all')
      assert.equal(result.generation, whole.generation, `${why}: the same tree as a build that reads every reference`)
      assert.equal(result.tags, whole.tags)
      // Written from what the process kept of the last generation, its files are those of a first build.
      assert.deepEqual(await generationFiles(out, result.generation), await generationFiles(join(dir, `fresh-${fresh - 1}`), whole.generation), `${why}: the same generation files`)
    }
    await check('all', 'first build')
    await check('changes', 'nothing changed')
    const digestOf = async (name: string) => (await store.refList()).find((ref) => `${ref.repository}:${ref.tag}` === name)!.descriptor
    await store.updateIndex((refs) => refs.set('scale/r1:t0', { ...refs.get('scale/r1:t0')! }))
    await check('changes', 'a write that changed nothing')
    const target = await digestOf('scale/r2:t1')
    await store.updateIndex((refs) => refs.set('scale/r2:t0', { ...refs.get('scale/r2:t0')!, descriptor: target }))
    await store.refDelete([{ repository: 'scale/r3', tag: 't2' }])
    await check('changes', 'a retag and a deleted tag, two writes')
    await store.refDelete([{ repository: 'scale/r4', tag: 't0' }, { repository: 'scale/r4', tag: 't1' }, { repository: 'scale/r4', tag: 't2' }])
    await check('changes', 'a repository gone')
    await store.updateIndex((refs) => refs.set('scale/new:t0', { repository: 'scale/new', tag: 't0', descriptor: target }))
    await check('all', 'a repository added: its name is checked against all others')
    // A tool that edits index.json in place, or replaces it without the journal.
    const indexPath = join(storeDir, 'index.json')
    const text = await readFile(indexPath, 'utf8')
    await writeFile(indexPath, text.replace('"scale/r5:t0"', '"scale/r5:t9"'))
    await check('all', 'index.json edited in place')
    await writeFile(`${indexPath}.new`, text)
    await rename(`${indexPath}.new`, indexPath)
    await check('all', 'index.json replaced by another writer')
    // A journal cut short (a crash mid-line) or gone.
    await store.updateIndex((refs) => refs.delete('scale/r0:t2'))
    const journal = join(storeDir, '.zreg', 'index-journal.jsonl')
    const lines = await readFile(journal, 'utf8')
    await writeFile(journal, lines.slice(0, -20))
    await check('all', 'the journal\'s last line cut short')
    await store.updateIndex((refs) => refs.delete('scale/r0:t1'))
    await rm(journal)
    await check('all', 'the journal gone')
    await store.updateIndex((refs) => refs.delete('scale/r0:t0'))
    await check('changes', 'journaled again')
    // A journal that cannot be written (here a directory in its place) fails no write of the index.
    await rm(journal)
    await mkdir(journal)
    await store.updateIndex((refs) => refs.delete('scale/r5:t1'))
    assert.equal((await store.refList()).some((ref) => ref.repository === 'scale/r5' && ref.tag === 't1'), false)
    await check('all', 'the journal unwritable')
    await rm(journal, { recursive: true })
    // Another cache max-age: another generation, whose page is the live one's file (nothing it shows changed).
    const live = await buildSite(await LayoutStore.open(storeDir), { out })
    const longer = await buildSite(await LayoutStore.open(storeDir), { out, cacheMaxAge: 120 })
    assert.notEqual(longer.generation, live.generation)
    const pageOf = (generation: string) => stat(join(treePaths(out).generations, generation, '.zreg', 'index.html'))
    assert.equal((await pageOf(longer.generation)).ino, (await pageOf(live.generation)).ino)
    // Other build settings: every repository's input differs.
    const result = await buildSite(await LayoutStore.open(storeDir), { out, cacheMaxAge: 5, defaultPlatform: { os: 'linux', architecture: 'arm64' } })
    assert.equal(result.surveyedBy, 'all')
  })

  test('the tree is self-contained: a copy made with cp -a, tar or cp -rL (links followed) serves the same', async () => {
    const dir = await tempDir('copied')
    const copy = join(dir, 'copy')
    await execa('cp', ['-a', shared.site, copy])
    await mkdir(join(dir, 'untarred'))
    await execa('sh', ['-c', `tar -C '${shared.site}' -cf - . | tar -C '${join(dir, 'untarred')}' -xf -`])
    // What an artifact upload keeps: no links at all.
    await execa('cp', ['-rL', shared.site, join(dir, 'dereferenced')])
    for (const tree of [copy, join(dir, 'untarred'), join(dir, 'dereferenced')]) {
      const { stdout } = await execa('find', [tree, '-type', 'l'])
      for (const link of stdout.split('\n').filter(Boolean)) {
        const resolved = await realpath(link)
        assert.ok(resolved.startsWith(`${await realpath(tree)}/`), `${link} resolves to ${resolved}, outside the tree`)
      }
      const server = await startZregServe(tree)
      try {
        const single = (await loadFixtures()).images.find((image) => image.id === 'oci/single')!
        assert.equal(await skopeoPull(`docker://${server.authority}/fixtures/single:1.0`, join(dir, `pulled-${tree.split('/').pop()}`)), single.digest)
      } finally {
        await server.stop()
      }
    }
  })

  test('a tree of the former layout (--out a link to .NAME.builds beside it) becomes a self-contained directory', async () => {
    const dir = await tempDir('former')
    const out = join(dir, 'site')
    await mkdir(join(dir, '.site.builds', 'gen', 'old'), { recursive: true })
    await symlink('.site.builds/gen/old', out)
    await zregOk(['build', '--store', shared.store, '--out', out])
    assert.ok((await lstat(out)).isDirectory())
    assert.ok(!existsSync(join(dir, '.site.builds')), 'the former builds directory is gone')
    const server = await startZregServe(out)
    try {
      assert.equal((await rawRequest(server.url, 'GET', '/v2/fixtures/single/tags/list')).status, 200)
    } finally {
      await server.stop()
    }
  })

  test('refuses an --out it did not make', async () => {
    const dir = await tempDir('refuse')
    await mkdir(join(dir, 'taken'))
    await writeFile(join(dir, 'taken', 'keep.txt'), 'mine')
    const refused = await zreg(['build', '--store', shared.store, '--out', join(dir, 'taken'), '--json'])
    assert.equal(refused.exitCode, 5)
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'OUT_INVALID')
    assert.ok(existsSync(join(dir, 'taken', 'keep.txt')))
  })

  test('a store copied elsewhere builds the same served tree', async () => {
    const dir = await tempDir('moved')
    const moved = join(dir, 'store')
    await cp(shared.store, moved, { recursive: true })
    const out = join(dir, 'site')
    await zregOk(['build', '--store', moved, '--out', out])
    const served = (tree: Map<string, string>) => [...tree].filter(([path]) => path.startsWith('v2/'))
    assert.deepEqual(served(await treeDigest(out)), served(await treeDigest(shared.site)))
  })
})
