import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { digestOf } from '../../src/oci/digest.js'
import { LayoutStore } from '../../src/store/layout-store.js'
import type { Store } from '../../src/store/store.js'
import { tempDir } from '../helpers/paths.js'

/** Every store implementation must pass this suite. */
const implementations: [string, () => Promise<Store>][] = [['OCI layout', async () => LayoutStore.open(join(await tempDir('store'), 'store'))]]

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath ?? entry.path, entry.name)).sort()
}

function chunks(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

for (const [name, open] of implementations) {
  describe(`store: ${name}`, () => {
    test('a committed blob is readable by digest; refs are listed sorted', async () => {
      const store = await open()
      const bytes = Buffer.from('layer bytes')
      const digest = digestOf(bytes)
      const staging = await store.stage()
      assert.deepEqual(await staging.blobPut(chunks(bytes, 3), { digest, size: bytes.length }), { digest, size: bytes.length })
      assert.equal(await store.blobStat(digest), undefined, 'not visible before commit')
      await staging.commit([
        { repository: 'b', tag: '1', descriptor: { mediaType: 'application/octet-stream', digest, size: bytes.length } },
        { repository: 'a', tag: '2', descriptor: { mediaType: 'application/octet-stream', digest, size: bytes.length } },
        { repository: 'a', descriptor: { mediaType: 'application/octet-stream', digest, size: bytes.length } },
      ])
      assert.equal(await store.blobStat(digest), bytes.length)
      assert.deepEqual(await store.blobBytes(digest, 100), bytes)
      const ranged = await store.blobRead(digest, { start: 0, end: 4 })
      let text = ''
      for await (const chunk of ranged) text += String(chunk)
      assert.equal(text, 'layer')
      assert.deepEqual((await store.refList()).map((ref) => [ref.repository, ref.tag]), [['a', '2'], ['a', undefined], ['b', '1']])
      await store.refDelete([{ repository: 'a', tag: '2' }])
      assert.deepEqual((await store.refList()).map((ref) => [ref.repository, ref.tag]), [['a', undefined], ['b', '1']])
    })

    test('wrong digest or size is refused and leaves nothing behind', async () => {
      const store = await open()
      const bytes = Buffer.from('0123456789')
      const staging = await store.stage()
      await assert.rejects(staging.blobPut(chunks(bytes, 4), { digest: digestOf('other') }), (e: unknown) => e instanceof ZregError && e.code === 'DIGEST_INVALID')
      await assert.rejects(staging.blobPut(chunks(bytes, 4), { size: 9 }), (e: unknown) => e instanceof ZregError && e.code === 'SIZE_INVALID')
      await assert.rejects(staging.blobPut(chunks(bytes, 4), { size: 11 }), (e: unknown) => e instanceof ZregError && e.code === 'SIZE_INVALID')
      await staging.abort()
      assert.equal(await store.blobStat(digestOf(bytes)), undefined)
      assert.deepEqual((await filesUnder(store.location)).map((file) => file.slice(store.location.length)), ['/index.json', '/oci-layout'])
    })

    test('a truncated stream is refused', async () => {
      const store = await open()
      const staging = await store.stage()
      const failing = new Readable({
        read() {
          this.push(Buffer.from('partial'))
          this.destroy(new Error('connection reset'))
        },
      })
      await assert.rejects(staging.blobPut(failing, { size: 100 }))
      await staging.abort()
      assert.deepEqual((await filesUnder(store.location)).map((file) => file.slice(store.location.length)), ['/index.json', '/oci-layout'])
    })

    test('concurrent puts of one blob all succeed and leave no temp files', async () => {
      const store = await open()
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7)
      const digest = digestOf(bytes)
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const staging = await store.stage()
          await staging.blobPut(chunks(bytes, 64 * 1024 + i), { digest, size: bytes.length })
          await staging.commit([{ repository: `r${i}`, tag: 't', descriptor: { mediaType: 'application/octet-stream', digest, size: bytes.length } }])
        }),
      )
      assert.equal(await store.blobStat(digest), bytes.length)
      assert.equal((await store.refList()).length, 12, 'every writer recorded its ref under the lock')
      const files = (await filesUnder(store.location)).map((file) => file.slice(store.location.length))
      // The journal of index writes (index-journal.ts): one line per commit, each from the version the one before wrote.
      assert.deepEqual(files, ['/.zreg/index-journal.jsonl', `/blobs/sha256/${digest.slice(7)}`, '/index.json', '/oci-layout'])
      const lines = (await readFile(join(store.location, '.zreg', 'index-journal.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { from: string; to: string })
      assert.equal(lines.length, 12)
      for (let i = 1; i < lines.length; i++) assert.equal(lines[i]!.from, lines[i - 1]!.to)
    })

    test('writes through one store start from what it last wrote, byte for byte what a fresh read would write; an edit by another tool is read', async () => {
      const store = await open()
      if (!(store instanceof LayoutStore)) return
      const indexPath = join(store.location, 'index.json')
      const descriptor = (n: number, annotations?: Record<string, string>) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(Buffer.from(`m${n}`)), size: n, ...(annotations ? { annotations } : {}) })
      // A writer's refs carry annotations of their own, a stale name among them: the file holds each as its entry.
      await store.updateIndex((refs) => {
        for (let i = 0; i < 5; i++) refs.set(`app:${i}`, { repository: 'app', tag: `${i}`, descriptor: descriptor(i, { 'org.opencontainers.image.ref.name': 'stale:x', note: `é${i}` }) })
        refs.set(`app@${descriptor(9).digest}`, { repository: 'app', descriptor: descriptor(9) })
      })
      await store.updateIndex((refs) => refs.delete('app:3'))
      await store.updateIndex((refs) => refs.set('other:1', { ...refs.get('app:1')!, repository: 'other', tag: '1' }))
      const kept = await readFile(indexPath, 'utf8')
      // Another instance (another process) reads the file and writes it again unchanged.
      const fresh = await LayoutStore.open(store.location)
      await fresh.updateIndex(() => undefined)
      assert.equal(await readFile(indexPath, 'utf8'), kept)
      assert.deepEqual((await fresh.refList()).map((ref) => `${ref.repository}:${ref.tag ?? ref.descriptor.digest}`), ['app:0', 'app:1', 'app:2', 'app:4', `app:${descriptor(9).digest}`, 'other:1'])

      // Another tool rewrites the index: the first store's next write starts from the file, not from what it wrote.
      // It writes its entries in an order of its own (annotations first): zreg writes them back in its own.
      const edited = JSON.parse(kept) as { manifests: { annotations?: Record<string, string> }[] }
      edited.manifests = edited.manifests
        .filter((entry) => entry.annotations?.['org.opencontainers.image.ref.name'] !== 'app:0')
        .map(({ annotations, ...rest }) => ({ annotations: { 'org.opencontainers.image.ref.name': annotations!['org.opencontainers.image.ref.name']!, ...annotations }, ...rest }))
      await writeFile(indexPath, JSON.stringify(edited))
      await store.updateIndex((refs) => refs.delete('app:1'))
      assert.deepEqual((await store.refList()).map((ref) => ref.tag).filter(Boolean), ['2', '4', '1'])
      for (const entry of (JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: Record<string, unknown>[] }).manifests) {
        assert.equal(Object.keys(entry).at(-1), 'annotations')
        assert.match(Object.keys(entry.annotations as object).at(-1)!, /ref\.name|repository/)
      }
    })

    test('an existing blob is not rewritten', async () => {
      const store = await open()
      const bytes = Buffer.from('same')
      const digest = digestOf(bytes)
      const first = await store.stage()
      await first.blobPut(Readable.from([bytes]))
      await first.commit([])
      const before = await store.blobStat(digest)
      const second = await store.stage()
      await second.blobPut(Readable.from([bytes]))
      await second.commit([])
      assert.equal(await store.blobStat(digest), before)
    })

    test('commit refuses a ref to a blob that is not stored', async () => {
      const store = await open()
      const staging = await store.stage()
      await assert.rejects(
        staging.commit([{ repository: 'a', tag: '1', descriptor: { mediaType: 'x', digest: digestOf('missing'), size: 1 } }]),
        (e: unknown) => e instanceof ZregError && e.code === 'MANIFEST_BLOB_UNKNOWN',
      )
      await staging.abort()
    })
  })
}
