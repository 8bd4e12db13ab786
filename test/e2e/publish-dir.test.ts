import assert from 'node:assert/strict'
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, cliPath, tempDir } from '../helpers/paths.js'
import { pullSuite } from '../helpers/pull-suite.js'
import { makeScaleStore } from '../helpers/scale-store.js'
import { startNginx, startZregServe } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'

interface Summary {
  uploaded: number
  copied: number
  skipped: number
  deleted: number
}

async function publishDir(site: string, target: string, extra: string[] = []): Promise<Summary> {
  return JSON.parse((await zregOk(['publish', `dir:${target}`, '--out', site, '--json', ...extra])).stdout) as Summary
}

/** The repository directories in a tree (named by content key). */
async function objectKeys(tree: string): Promise<string[]> {
  return (await readdir(join(tree, '.zreg-builds', 'objects'), { withFileTypes: true })).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort()
}

async function tagsOf(url: string, repository: string): Promise<string[]> {
  return ((await (await fetch(`${url}/v2/${repository}/tags/list`)).json()) as { tags: string[] }).tags
}

// The copy serves as the original does, through zreg serve and through nginx configured for it.
pullSuite('zreg serve of a dir: publish', async (site) => {
  const target = join(await tempDir('publish-dir-serve'), 'copy')
  await publishDir(site.site, target)
  return startZregServe(target)
})

pullSuite('nginx of a dir: publish', async (site) => {
  const target = join(await tempDir('publish-dir-nginx'), 'copy')
  await publishDir(site.site, target)
  // Nothing in the copy names the tree it came from.
  const leaks = await execa('grep', ['-rlF', site.site, target], { reject: false })
  assert.equal(leaks.stdout, '', `files of the copy naming ${site.site}`)
  return startNginx(target, { root: target })
})

test('a second publish after a one-tag change copies only the changed repository; files are hard links on one file system', async () => {
  const dir = await tempDir('publish-dir-change')
  const store = ['--store', join(dir, 'store')]
  const site = join(dir, 'site')
  const target = join(dir, 'copy')
  await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.0', ...store])
  await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), '--name', 'app/two:1.0', ...store])
  await zregOk(['build', ...store, '--out', site])
  const first = await publishDir(site, target)
  assert.ok(first.copied > 0 && first.uploaded === 0, 'hard links, no bytes copied, on one file system')
  const before = await objectKeys(target)
  assert.deepEqual(before, await objectKeys(site))
  const blob = (await readdir(join(target, 'v2', 'app', 'one', 'blobs')))[0]!
  assert.equal((await stat(join(target, 'v2', 'app', 'one', 'blobs', blob))).ino, (await stat(join(site, 'v2', 'app', 'one', 'blobs', blob))).ino)

  await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.1', ...store])
  await zregOk(['build', ...store, '--out', site])
  const dry = await publishDir(site, target, ['--dry-run'])
  assert.deepEqual(await objectKeys(target), before, '--dry-run wrote nothing')
  const second = await publishDir(site, target)
  const after = await objectKeys(target)
  const added = after.filter((key) => !before.includes(key))
  assert.equal(added.length, 1, 'one repository directory copied')
  const changedFiles = (await readdir(join(target, '.zreg-builds', 'objects', added[0]!), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).length
  // The files of the changed repository, and the catalog page.
  assert.equal(second.copied + second.uploaded, changedFiles + 1, 'only the files of the changed repository and the page')
  assert.equal(dry.copied + dry.uploaded, changedFiles + 1, '--dry-run said so')
  const serve = await startZregServe(target)
  try {
    assert.deepEqual(await tagsOf(serve.url, 'app/one'), ['1.0', '1.1'])
  } finally {
    await serve.stop()
  }
  // --delete drops the directory and generation the live one no longer uses.
  const cleaned = await publishDir(site, target, ['--delete'])
  assert.ok(cleaned.deleted >= 2)
  const live = JSON.parse(await readFile(join(site, '.zreg', 'site.json'), 'utf8')) as { repositories: Record<string, string> }
  assert.deepEqual(await objectKeys(target), Object.values(live.repositories).sort())
  assert.equal((await readdir(join(target, '.zreg-builds', 'gen'))).length, 1)
})

test('a directory that is not a zreg tree is refused and left as it was', async () => {
  const { site } = await sharedSite()
  const target = await tempDir('publish-dir-foreign')
  await writeFile(join(target, 'keep.txt'), 'mine')
  const result = await zreg(['publish', `dir:${target}`, '--out', site, '--json'])
  assert.equal(result.exitCode, 2)
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'PUBLISH_TARGET_INVALID')
  assert.deepEqual(await readdir(target), ['keep.txt'])
})

test('a publish killed midway leaves the target serving the previous tree; a rerun finishes', async () => {
  const dir = await tempDir('publish-dir-kill')
  await makeScaleStore(join(dir, 'store-a'), 300, 2)
  await makeScaleStore(join(dir, 'store-b'), 300, 3)
  const site = join(dir, 'site')
  const target = join(dir, 'copy')
  await zregOk(['build', '--store', join(dir, 'store-a'), '--out', site])
  await publishDir(site, target)
  const previous = await readlink(join(target, '.zreg'))
  await zregOk(['build', '--store', join(dir, 'store-b'), '--out', site])

  const start = (await objectKeys(target)).length
  const child = execa(cliPath, ['publish', `dir:${target}`, '--out', site], { reject: false, stdin: 'ignore' })
  while (child.exitCode === null) {
    const entries = await readdir(join(target, '.zreg-builds', 'objects'))
    if (entries.filter((name) => !name.includes('.')).length - start >= 20) {
      child.kill('SIGKILL')
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  const result = await child
  assert.equal(result.signal, 'SIGKILL', 'the publish was killed midway')
  assert.equal(await readlink(join(target, '.zreg')), previous, 'the previous generation is still live')
  const serve = await startZregServe(target)
  try {
    assert.deepEqual(await tagsOf(serve.url, 'scale/r0'), ['t0', 't1'])
    assert.deepEqual(await tagsOf(serve.url, 'scale/r299'), ['t0', 't1'])
  } finally {
    await serve.stop()
  }

  await publishDir(site, target)
  assert.equal((await objectKeys(target)).length, start + 300)
  const after = await startZregServe(target)
  try {
    assert.deepEqual(await tagsOf(after.url, 'scale/r0'), ['t0', 't1', 't2'])
    assert.deepEqual(await tagsOf(after.url, 'scale/r299'), ['t0', 't1', 't2'])
  } finally {
    await after.stop()
  }
})
