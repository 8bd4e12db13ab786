import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { zregOk } from '../helpers/cli.js'
import { absoluteSource, loadFixtures, tempDir } from '../helpers/paths.js'
import { startZregServe } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

/** The pids of a process's children (/proc: every thread's children list). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('zreg serve --workers 3: three processes share the port, each runs the server alone (and so does the one supervising them) and picks up a rebuild, all stop with the first', async () => {
  const dir = await tempDir('serve-workers')
  const fixtures = await loadFixtures()
  const single = fixtures.images.find((image) => image.id === 'oci/single')!
  const multiLayer = fixtures.images.find((image) => image.id === 'oci/multi-layer')!
  const store = ['--store', join(dir, 'store')]
  const site = join(dir, 'site')
  await zregOk(['add', absoluteSource(single.source), '--name', 'app:1', ...store])
  await zregOk(['build', ...store, '--out', site])
  const server = await startZregServe(site, ['--workers', '3'])
  try {
    // The command hands the server to a program without oclif (bin/run.js execs it: the same pid).
    assert.match(readFileSync(`/proc/${server.process.pid!}/cmdline`, 'utf8'), /server-main\.js/)
    const workers = childrenOf(server.process.pid!)
    assert.equal(workers.length, 3, 'one process per worker')
    // Each runs the server's own program, which never loads the CLI (oclif: 11 MB of each process).
    for (const pid of workers) assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /serve-worker-main\.js/)
    assert.equal(await skopeoPull(`docker://${server.authority}/app:1`, join(dir, 'pulled')), single.digest)
    // A new tag: every worker loads the new generation on its own (requests go round-robin).
    await zregOk(['add', absoluteSource(multiLayer.source), '--name', 'app:2', ...store])
    await zregOk(['build', ...store, '--out', site])
    const deadline = Date.now() + 5000
    let statuses: number[] = []
    while (Date.now() < deadline) {
      statuses = await Promise.all(Array.from({ length: 12 }, async () => (await fetch(`${server.url}/v2/app/manifests/2`, { method: 'HEAD', headers: { Accept: multiLayer.mediaType! } })).status))
      if (statuses.every((status) => status === 200)) break
      await sleep(100)
    }
    assert.deepEqual(statuses, Array(12).fill(200))
    await server.stop()
    await sleep(200)
    assert.deepEqual(workers.filter(alive), [], 'the workers stop with the first process')
  } finally {
    await server.stop()
  }
})
