import assert from 'node:assert/strict'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { readParsed, rememberParsed } from '../../src/build/parsed-files.js'
import { tempDir } from '../helpers/paths.js'

test('a parsed file is read again once it is replaced or edited in place, and never while it stays the file kept', async () => {
  const dir = await tempDir('parsed-files')
  const path = join(dir, 'site.json')
  let parses = 0
  const parse = (file: string) => {
    parses++
    return JSON.parse(readFileSync(file, 'utf8')) as { n: number }
  }
  writeFileSync(path, '{"n":1}')
  assert.deepEqual(readParsed(path, parse), { n: 1 })
  assert.deepEqual(readParsed(path, parse), { n: 1 })
  assert.equal(parses, 1)

  // Replaced by a rename (another build, another tool): a new inode.
  writeFileSync(`${path}.new`, '{"n":2}')
  renameSync(`${path}.new`, path)
  assert.deepEqual(readParsed(path, parse), { n: 2 })
  // Edited in place, the same size: its times change.
  writeFileSync(path, '{"n":3}')
  assert.deepEqual(readParsed(path, parse), { n: 3 })
  assert.equal(parses, 3)

  // What a build wrote is kept as written: nothing is parsed for it.
  writeFileSync(path, '{"n":4}')
  rememberParsed(path, { n: 4 })
  assert.deepEqual(readParsed(path, parse), { n: 4 })
  assert.equal(parses, 3)
  assert.equal(readParsed(join(dir, 'missing.json'), parse), undefined)
})
