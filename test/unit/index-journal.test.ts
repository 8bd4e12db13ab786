import assert from 'node:assert/strict'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { journalChanges, journalPath, journalWrite } from '../../src/store/index-journal.js'
import type { Digest } from '../../src/oci/digest.js'
import type { StoredRef } from '../../src/store/store.js'
import { tempDir } from '../helpers/paths.js'

/** A repository's references, made large (20 tags with annotations of 1-4 byte characters) so a few lines pass 64 KiB. */
function refsOf(repository: string, round: number): StoredRef[] {
  return Array.from({ length: 20 }, (_, i) => ({
    repository,
    tag: `t${i}`,
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(round).padStart(64, '0')}` as Digest, size: 500, annotations: { note: `é€😀 round ${round} `.repeat(40) } },
  }))
}

test('the journal is read from the end: a version many lines (and windows) back, the last one, one never written, a line cut short', async () => {
  const dir = await tempDir('index-journal')
  const rounds = 60
  for (let round = 0; round < rounds; round++) journalWrite(dir, `v${round}`, `v${round + 1}`, new Map([[`repo/${round % 7}`, refsOf(`repo/${round % 7}`, round)]]))
  assert.ok(readFileSync(journalPath(dir)).length > 4 * 64 * 1024, 'more than two windows of lines')

  const all = journalChanges(dir, 'v0', `v${rounds}`)
  assert.deepEqual([...all!.keys()].sort(), Array.from({ length: 7 }, (_, i) => `repo/${i}`))
  // Each repository as its last line left it.
  assert.deepEqual(all!.get('repo/3'), refsOf('repo/3', 59))
  assert.deepEqual([...journalChanges(dir, `v${rounds - 1}`, `v${rounds}`)!.keys()], [`repo/${(rounds - 1) % 7}`])
  assert.equal(journalChanges(dir, `v${rounds}`, `v${rounds}`)!.size, 0)
  assert.equal(journalChanges(dir, 'v-never', `v${rounds}`), undefined, 'a version no line starts from')
  assert.equal(journalChanges(dir, 'v3', 'v-later'), undefined, 'a write the journal did not record')
  // A version named inside another line's text is no line's start.
  journalWrite(dir, `v${rounds}`, `v${rounds + 1}`, new Map([['repo/x', [{ repository: 'repo/x', descriptor: { mediaType: 'x', digest: 'sha256:0' as Digest, size: 1, annotations: { note: '{"from":"v-inside",' } } }]]]))
  assert.equal(journalChanges(dir, 'v-inside', `v${rounds + 1}`), undefined)

  appendFileSync(journalPath(dir), '{"from":"v61","to":"v62","repositories":{"repo/y":[')
  assert.equal(journalChanges(dir, 'v60', 'v62'), undefined, 'a line cut short')
  writeFileSync(journalPath(dir), '')
  assert.equal(journalChanges(dir, 'v0', 'v1'), undefined, 'an emptied journal')
})
