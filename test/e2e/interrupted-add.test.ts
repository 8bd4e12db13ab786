import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { makeLargeImage } from '../helpers/large-image.js'
import { absoluteSource, cliPath, tempDir } from '../helpers/paths.js'

interface VerifyJson {
  problems: unknown[]
  leftovers: { path: string; bytes: number }[]
}

/** The `.part` files under the store's staging area, with their sizes. */
async function partFiles(store: string): Promise<{ path: string; size: number }[]> {
  const root = join(store, '.zreg', 'tmp')
  const found: { path: string; size: number }[] = []
  for (const dir of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, dir)).catch(() => [] as string[])) {
      if (name.endsWith('.part')) found.push({ path: join(root, dir, name), size: (await stat(join(root, dir, name)).catch(() => ({ size: 0 }))).size })
    }
  }
  return found
}

describe('what an interrupted zreg add leaves behind', () => {
  test('kill -9 mid-copy: verify lists the leftovers, the next add removes them, a live add is never touched', async () => {
    const dir = await tempDir('interrupted')
    const store = join(dir, 'store')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', store])
    const large = await makeLargeImage(dir, 256 * 1024 * 1024)

    // A real `zreg add` of a 256 MiB layer, killed once its .part file holds some of it.
    const child = execa(cliPath, ['add', `oci:${large.layout}:${large.ref}`, '--store', store], { reject: false, stdin: 'ignore' })
    const deadline = Date.now() + 30_000
    while (!(await partFiles(store)).some((part) => part.size > 1024 * 1024) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    child.kill('SIGKILL')
    assert.equal((await child).signal, 'SIGKILL')
    const parts = await partFiles(store)
    assert.ok(parts.length > 0, 'the killed add left .part files')

    const verify = await zreg(['verify', '--store', store, '--json'])
    assert.equal(verify.exitCode, 0, 'leftovers are harmless: no problem')
    const listed = (JSON.parse(verify.stdout) as VerifyJson).leftovers
    assert.equal(listed.length, 1)
    assert.ok(parts.every((part) => part.path.startsWith(listed[0]!.path)))
    assert.ok(listed[0]!.bytes >= 1024 * 1024)
    const plain = await zreg(['verify', '--store', store])
    assert.match(plain.stderr, /1 leftovers of interrupted runs \(.+\), safe to remove; the next `zreg add` removes them/)

    // The staging directory of a live process (this test's) looks just like one: it must stay.
    const live = join(store, '.zreg', 'tmp', `${process.pid}-0-0-feed`)
    await mkdir(live)
    await writeFile(join(live, '0.part'), 'in progress')

    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--store', store])
    assert.deepEqual(await partFiles(store), [{ path: join(live, '0.part'), size: 11 }], 'the dead process\'s files are gone, the live one\'s kept')
    assert.deepEqual((JSON.parse((await zregOk(['verify', '--store', store, '--json'])).stdout) as VerifyJson).leftovers, [])
    assert.ok(existsSync(join(live, '0.part')))
  })

  test('Ctrl-C or kill (SIGINT, SIGTERM) mid-copy: the add removes its own staging, and a store it created, then dies of the signal', async () => {
    const dir = await tempDir('signalled')
    const large = await makeLargeImage(dir, 256 * 1024 * 1024)
    const kept = join(dir, 'kept')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', kept])
    for (const [signal, store] of [['SIGINT', kept], ['SIGTERM', kept], ['SIGINT', join(dir, 'new', 'store')]] as const) {
      const child = execa(cliPath, ['add', `oci:${large.layout}:${large.ref}`, '--store', store], { reject: false, stdin: 'ignore' })
      const deadline = Date.now() + 30_000
      while (!(await partFiles(store)).some((part) => part.size > 1024 * 1024) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      child.kill(signal)
      assert.equal((await child).signal, signal)
      if (store === kept) {
        assert.deepEqual(await readdir(join(store, '.zreg', 'tmp')), [], `${signal}: nothing staged is left`)
        assert.deepEqual((JSON.parse((await zregOk(['verify', '--store', store, '--json'])).stdout) as VerifyJson).leftovers, [])
      } else {
        assert.equal(existsSync(join(dir, 'new')), false, 'the store made for the interrupted add is gone')
      }
    }
  })

  test('a staging directory whose pid now belongs to another process is recognised as dead', async () => {
    const dir = await tempDir('reused-pid')
    const store = join(dir, 'store')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', store])
    // Our pid, a start time that is not ours: an earlier process that had this pid (as in containers).
    const namespace = /\[(\d+)\]/.exec((await execa('readlink', ['/proc/self/ns/pid'])).stdout)![1]
    const stale = join(store, '.zreg', 'tmp', `${process.pid}-1-${namespace}-beef`)
    await mkdir(stale)
    await writeFile(join(stale, '0.part'), 'left by an earlier process')
    const verify = JSON.parse((await zregOk(['verify', '--store', store, '--json'])).stdout) as VerifyJson
    assert.deepEqual(verify.leftovers.map((leftover) => leftover.path), [stale])
  })
})
