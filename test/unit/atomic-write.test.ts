import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { writeFileAtomic } from '../../src/store/atomic.js'
import { tempDir } from '../helpers/paths.js'

test('a large text is written whole as UTF-8, characters of 2 to 4 bytes across its 1 MiB chunks included', async () => {
  const dir = await tempDir('atomic-write')
  // 3.5 million characters of 1, 2, 3 and 4 bytes (a surrogate pair), so every chunk boundary falls somewhere new.
  const text = 'a/é:€😀\n'.repeat(500_000)
  await writeFileAtomic(join(dir, 'large.json'), text, { fsync: false })
  const bytes = await readFile(join(dir, 'large.json'))
  assert.equal(bytes.length, Buffer.byteLength(text))
  assert.equal(bytes.toString('utf8'), text)
})
