import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { cp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, repoRoot, tempDir } from '../helpers/paths.js'
import { rawRequest } from '../helpers/http.js'
import { startZregServe } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'

describe('the zreg command line', () => {
  test('--help works for every command', async () => {
    for (const command of [[], ['add'], ['build'], ['serve'], ['push'], ['ls'], ['inspect'], ['verify']]) {
      const result = await zregOk([...command, '--help'])
      assert.match(result.stdout, /USAGE/, command.join(' '))
    }
  })

  test('ls and inspect print for people and --json for scripts', async () => {
    const { store } = await sharedSite()
    const ls = await zregOk(['ls', '--store', store])
    assert.match(ls.stdout, /^fixtures\/single:1\.0\tsha256:[a-f0-9]{64}\t/m)
    const inspect = await zregOk(['inspect', 'fixtures/multi-arch:1.0', '--store', store])
    assert.match(inspect.stdout, /linux\/arm64\/v8/)
    const json = JSON.parse((await zregOk(['inspect', 'fixtures/multi-arch:1.0', '--store', store, '--json'])).stdout) as { images: { platform: string; layers: unknown[]; totalSize: number }[] }
    assert.deepEqual(json.images.map((image) => image.platform), ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'])
    assert.ok(json.images.every((image) => image.layers.length > 0 && image.totalSize > 0))
  })

  test('exit codes mean something and errors say what to do next', async () => {
    const { store } = await sharedSite()
    const missing = await zreg(['inspect', 'no/such:tag', '--store', store])
    assert.equal(missing.exitCode, 3)
    assert.match(missing.stderr, /zreg ls/)
    const usage = await zreg(['add'])
    assert.equal(usage.exitCode, 2)
    const noStore = await zreg(['ls', '--store', join(await tempDir('none'), 'absent')])
    assert.notEqual(noStore.exitCode, 0)
  })

  test('a config file with environment substitution sets the defaults', async () => {
    const dir = await tempDir('config')
    await writeFile(join(dir, 'zreg.json'), JSON.stringify({ store: '${ZREG_TEST_ROOT}/store', out: '${ZREG_TEST_ROOT}/${SITE_NAME:-site}' }))
    const env = { ZREG_TEST_ROOT: dir }
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0')], { cwd: dir, env })
    await zregOk(['build'], { cwd: dir, env })
    assert.ok(existsSync(join(dir, 'store', 'index.json')))
    assert.ok(existsSync(join(dir, 'site', 'v2', '_catalog')))
    const unset = await zreg(['ls'], { cwd: dir })
    assert.equal(unset.exitCode, 2)
    assert.match(unset.stderr, /ZREG_TEST_ROOT/)
  })

  test('zreg serve logs a line per request and stops cleanly on SIGTERM', async () => {
    const { site } = await sharedSite()
    const server = await startZregServe(site)
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    await rawRequest(server.url, 'GET', '/v2/fixtures/single/tags/list')
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.match(server.log(), /"GET \/v2\/fixtures\/single\/tags\/list HTTP\/1\.1" 200/)
    await server.stop()
    assert.equal((await server.process).exitCode, 0)
  })

  test('zreg verify passes a good store and names each problem of a damaged one', async () => {
    const { store } = await sharedSite()
    const good = await zregOk(['verify', '--store', store])
    assert.match(good.stdout, /^ok: \d+ references, \d+ blobs/m)
    const damaged = join(await tempDir('damaged'), 'store')
    await cp(store, damaged, { recursive: true })
    const single = JSON.parse((await zregOk(['inspect', 'fixtures/single:1.0', '--store', damaged, '--json'])).stdout) as { images: { layers: { digest: string; size: number }[] }[] }
    const layer = single.images[0]!.layers[0]!
    await writeFile(join(damaged, 'blobs', 'sha256', layer.digest.slice(7)), Buffer.alloc(layer.size, 1))
    const multi = JSON.parse((await zregOk(['inspect', 'fixtures/multi-layer:1.0', '--store', damaged, '--json'])).stdout) as { images: { layers: { digest: string }[] }[] }
    const gone = multi.images[0]!.layers.at(-1)!.digest
    await rm(join(damaged, 'blobs', 'sha256', gone.slice(7)))
    const result = await zreg(['verify', '--store', damaged, '--json'])
    assert.equal(result.exitCode, 4)
    const problems = (JSON.parse(result.stdout) as { problems: { kind: string; digest: string }[] }).problems
    assert.ok(problems.some((problem) => problem.kind === 'digest' && problem.digest === layer.digest))
    assert.ok(problems.some((problem) => problem.kind === 'missing' && problem.digest === gone))
  })

  test('zreg serve explains a port in use', async () => {
    const { site } = await sharedSite()
    const first = await startZregServe(site)
    try {
      const port = first.authority.split(':')[1]!
      const second = await zreg(['serve', site, '--port', port])
      assert.equal(second.exitCode, 2)
      assert.match(second.stderr, /already in use/)
    } finally {
      await first.stop()
    }
  })

  test('oclif.manifest.json is generated by the build and committed fresh', async () => {
    if (!existsSync(join(repoRoot, '.git'))) return
    const diff = await execa('git', ['diff', '--stat', '--', 'oclif.manifest.json'], { cwd: repoRoot })
    assert.equal(diff.stdout, '', 'oclif.manifest.json differs from the committed one: commit the file `npm run build` wrote')
  })
})

