import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { withLock } from '../../src/store/lock.js'
import { tempDir } from '../helpers/paths.js'

test('withLock serialises work, also within one process', async () => {
  const path = join(await tempDir('lock'), 'x.lock')
  let inside = 0
  let most = 0
  await Promise.all(
    Array.from({ length: 10 }, () =>
      withLock(path, async () => {
        inside++
        most = Math.max(most, inside)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inside--
      }),
    ),
  )
  assert.equal(most, 1)
})

test('a lock left by a dead process, or by an earlier process with our pid, is taken over', async () => {
  const dir = await tempDir('lock')
  const path = join(dir, 'x.lock')
  await writeFile(path, '999999999 deadbeef token')
  assert.equal(await withLock(path, async () => 'ran', { timeoutMs: 2000 }), 'ran')
  await writeFile(path, `${process.pid} an-earlier-process token`)
  assert.equal(await withLock(path, async () => 'ran again', { timeoutMs: 2000 }), 'ran again')
})

test('a live owner is waited for, and release removes only our own lock', async () => {
  const path = join(await tempDir('lock'), 'x.lock')
  await writeFile(path, `${process.ppid} someone-else token`)
  await assert.rejects(withLock(path, async () => undefined, { timeoutMs: 300 }), /timed out/)
  assert.equal(await readFile(path, 'utf8'), `${process.ppid} someone-else token`)
})
