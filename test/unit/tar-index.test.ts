import assert from 'node:assert/strict'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { ZregError } from '../../src/errors.js'
import { readTarIndex, resolveEntry, safeEntryPath, type TarEntry } from '../../src/ingest/tar-index.js'
import { tempDir } from '../helpers/paths.js'

const isCode = (code: string) => (error: unknown) => error instanceof ZregError && error.code === code

test('safeEntryPath keeps entries inside the archive', () => {
  assert.equal(safeEntryPath('blobs/sha256/abc'), 'blobs/sha256/abc')
  assert.equal(safeEntryPath('./index.json'), 'index.json')
  assert.equal(safeEntryPath('blobs/'), 'blobs')
  assert.equal(safeEntryPath('a/../b'), 'b')
  for (const name of ['../x', '/etc/passwd', 'a/../../x', '..', 'a\\..\\..\\x', 'a\0b']) {
    assert.throws(() => safeEntryPath(name), isCode('UNSAFE_PATH'), name)
  }
})

test('readTarIndex reads ustar, PAX and GNU long names and links, as GNU tar writes them', async () => {
  const dir = await tempDir('tar-index')
  const tree = join(dir, 'tree')
  const deep = `${'d'.repeat(90)}/${'e'.repeat(90)}`
  const long = 'n'.repeat(180)
  await mkdir(join(tree, deep), { recursive: true })
  await writeFile(join(tree, deep, 'file.txt'), 'deep\n')
  await writeFile(join(tree, long), 'long\n')
  await symlink(`../../${long}`, join(tree, deep, 'link'))
  for (const format of ['gnu', 'pax', 'ustar']) {
    const archive = join(dir, `${format}.tar`)
    // ustar holds neither the 180-byte name nor the link to it, only the prefix-split deep name.
    const members = format === 'ustar' ? [`${deep}/file.txt`] : ['.']
    await execa('tar', [`--format=${format}`, '-cf', archive, '-C', tree, ...members])
    const entries = await readTarIndex(archive, archive)
    const file = entries.get(`${deep}/file.txt`)!
    assert.equal(file.type, 'file', format)
    const bytes = await readFile(archive)
    assert.equal(bytes.subarray(file.offset, file.offset + file.size).toString(), 'deep\n', format)
    if (format !== 'ustar') {
      assert.equal(entries.get(long)?.size, 5, format)
      assert.equal(entries.get(`${deep}/link`)?.linkname, `../../${long}`, format)
      assert.equal(resolveEntry(entries, `${deep}/link`, archive)?.name, long, format)
    }
  }
})

test('readTarIndex refuses what is not a complete tar', async () => {
  const dir = await tempDir('tar-bad')
  const archive = join(dir, 'ok.tar')
  await writeFile(join(dir, 'payload'), Buffer.alloc(5000, 1))
  await execa('tar', ['-cf', archive, '-C', dir, 'payload'])
  const bytes = await readFile(archive)
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['not a tar', Buffer.from('{"this is": "json"}'.padEnd(2048, ' '))],
    ['cut in the data', bytes.subarray(0, 3000)],
    ['cut after the data', bytes.subarray(0, 512 + 5120)],
  ]
  for (const [what, content] of cases) {
    await writeFile(join(dir, 'bad.tar'), content)
    await assert.rejects(readTarIndex(join(dir, 'bad.tar'), 'bad.tar'), isCode('ARCHIVE_INVALID'), what)
  }
})

test('resolveEntry follows links inside the archive only', () => {
  const file = (name: string): TarEntry => ({ name, type: 'file', offset: 0, size: 1 })
  const link = (name: string, linkname: string, type: 'symlink' | 'link' = 'symlink'): TarEntry => ({ name, type, offset: 0, size: 0, linkname })
  const index = (...entries: TarEntry[]) => new Map(entries.map((entry) => [entry.name, entry]))
  const chain = index(file('blobs/x.tar'), link('a/layer.tar', '../b/layer.tar'), link('b/layer.tar', '../blobs/x.tar'), link('hard', 'blobs/x.tar', 'link'))
  assert.equal(resolveEntry(chain, 'a/layer.tar', 't')?.name, 'blobs/x.tar')
  assert.equal(resolveEntry(chain, 'hard', 't')?.name, 'blobs/x.tar')
  assert.equal(resolveEntry(chain, 'missing', 't'), undefined)
  const refused: [string, Map<string, TarEntry>, string][] = [
    ['escape', index(link('a/l', '../../x')), 'UNSAFE_PATH'],
    ['absolute', index(link('a/l', '/etc/passwd')), 'UNSAFE_PATH'],
    ['hard link escape', index(link('a/l', '../x', 'link')), 'UNSAFE_PATH'],
    ['loop', index(link('a/l', '../b'), link('b', 'a/l')), 'UNSAFE_PATH'],
    ['self', index(link('a/l', 'l')), 'UNSAFE_PATH'],
    ['directory', index({ name: 'd', type: 'directory', offset: 0, size: 0 }, link('a/l', '../d')), 'ARCHIVE_INVALID'],
    ['dangling', index(link('a/l', 'nothing')), 'ARCHIVE_INVALID'],
    ['top directory', index(link('a/l', '..')), 'ARCHIVE_INVALID'],
  ]
  for (const [what, entries, code] of refused) assert.throws(() => resolveEntry(entries, 'a/l', 't'), isCode(code), what)
  assert.throws(() => resolveEntry(index(link('a/l', '..')), 'a/l', 't'), /a link to the archive's top directory, not a file/)
})
