import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, cliPath, repoRoot, tempDir } from '../helpers/paths.js'
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

  test('commands that connect to nothing start without NODE_EXTRA_CA_CERTS; the others keep it', async () => {
    // Node warns at start when it cannot read the file: the warning shows which processes read it.
    const env = { NODE_EXTRA_CA_CERTS: join(await tempDir('extra-ca'), 'missing.pem') }
    const { store } = await sharedSite()
    for (const args of [['ls', '--store', store], ['build', '--help'], ['server-config', '--help']]) {
      const result = await zregOk(args, { env })
      assert.doesNotMatch(result.stderr, /extra certs/, args.join(' '))
    }
    for (const command of ['add', 'sync', 'export', 'publish', 'push']) {
      assert.match((await zregOk([command, '--help'], { env })).stderr, /Ignoring extra certs from/, command)
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

  test('zreg serve explains a port in use (exit 5: busy)', async () => {
    const { site } = await sharedSite()
    const first = await startZregServe(site)
    try {
      const port = first.authority.split(':')[1]!
      const second = await zreg(['serve', site, '--port', port])
      assert.equal(second.exitCode, 5)
      assert.match(second.stderr, /already in use/)
    } finally {
      await first.stop()
    }
  })

  test('help, -h, help COMMAND, suggestions and shell completion come from oclif\'s plugins', async () => {
    const help = await zregOk(['help'])
    for (const command of ['add', 'build', 'serve', 'push', 'ls', 'inspect', 'verify', 'autocomplete']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
    for (const args of [['help', 'add'], ['add', '-h'], ['add', '--help']]) {
      assert.match((await zregOk(args)).stdout, /USAGE\n {2}\$ zreg add SOURCE/, args.join(' '))
    }
    const mistyped = await zreg(['ad'])
    assert.equal(mistyped.exitCode, 2)
    assert.match(mistyped.stderr, /ad is not a zreg command/)
    // At a terminal, plugin-not-found asks; answered "n", it ends with the usage error.
    const asked = await execa('script', ['-qec', `${cliPath} ad`, '/dev/null'], { input: 'n\n', reject: false, env: { FORCE_COLOR: '0' } })
    assert.match(String(asked.stdout), /Did you mean add\?/)
    assert.equal(asked.exitCode, 2)
    assert.match((await zregOk(['autocomplete', '--help'])).stdout, /USAGE\n {2}\$ zreg autocomplete \[SHELL\]/)
  })

  test('zreg serve --json and zreg push --json print JSON lines only: the address, then one object per request', async () => {
    const { site } = await sharedSite()
    const dir = await tempDir('json-lines')
    for (const args of [['serve', site], ['push', '--store', join(dir, 'store'), '--out', join(dir, 'site')]]) {
      const child = execa(cliPath, [...args, '--port', '0', '--json'], { reject: false, stdin: 'ignore', buffer: { stdout: true, stderr: true }, lines: false })
      let stdout = ''
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      const deadline = Date.now() + 10_000
      while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      const start = JSON.parse(stdout.split('\n')[0]!) as { url: string; port: number }
      await rawRequest(start.url, 'GET', '/v2/')
      await rawRequest(start.url, 'GET', '/v2/no/such/tags/list')
      await new Promise((resolve) => setTimeout(resolve, 200))
      child.kill('SIGTERM')
      const result = await child
      assert.equal(result.exitCode, 0, args[0])
      const lines = String(result.stdout).trim().split('\n')
      const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      assert.deepEqual(objects[0], start)
      assert.deepEqual(objects.slice(1).map((entry) => [entry.method, entry.url, entry.status]), [['GET', '/v2/', 200], ['GET', '/v2/no/such/tags/list', 404]], args[0])
    }
  })

  test('zreg serve DIR --push takes push\'s flags and keeps DIR current, as its usage says', async () => {
    const dir = await tempDir('serve-push')
    const tree = join(dir, 'tree')
    const server = await startZregServe(tree, ['--push', '--store', join(dir, 'store'), '--namespaced'])
    try {
      assert.ok(existsSync(join(tree, 'v2')), 'push mode built DIR at start')
    } finally {
      await server.stop()
    }
    const both = await zreg(['serve', tree, '--push', '--out', join(dir, 'other'), '--store', join(dir, 'store')])
    assert.equal(both.exitCode, 2)
    assert.match(both.stderr, /DIR and --out both name the tree/)
  })

  test('zreg serve suggests pulling only an image this machine can run', async () => {
    const dir = await tempDir('serve-platform')
    const store = join(dir, 'store')
    const foreign = process.arch === 'arm64' ? 'linux/amd64' : 'linux/arm64/v8'
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-arch:1.0'), '--platform', foreign, '--name', 'foreign/only:1', '--store', store])
    await zregOk(['build', '--store', store, '--out', join(dir, 'site')])
    const only = await startZregServe(join(dir, 'site'))
    await only.stop()
    assert.doesNotMatch(only.log(), /foreign\/only/)
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-arch:1.0'), '--name', 'all/platforms:1', '--store', store])
    await zregOk(['build', '--store', store, '--out', join(dir, 'site')])
    const both = await startZregServe(join(dir, 'site'))
    await both.stop()
    assert.match(both.log(), /podman pull --tls-verify=false 127\.0\.0\.1:\d+\/all\/platforms:1/)
  })

  test('the build prints no "oclif update available" warning, whatever oclif\'s update cache says', async () => {
    const cache = await tempDir('oclif-cache')
    await mkdir(join(cache, 'oclif'), { recursive: true })
    await writeFile(join(cache, 'oclif', 'version'), JSON.stringify({ latest: '99.0.0' }))
    const readme = await execa('npm', ['run', '--silent', 'readme', '--', '--dry-run'], { cwd: repoRoot, env: { XDG_CACHE_HOME: cache }, all: true })
    assert.doesNotMatch(String(readme.all), /update available/)
  })

  test('oclif.manifest.json is generated by the build and committed fresh', async () => {
    if (!existsSync(join(repoRoot, '.git'))) return
    const diff = await execa('git', ['diff', '--stat', '--', 'oclif.manifest.json'], { cwd: repoRoot })
    assert.equal(diff.stdout, '', 'oclif.manifest.json differs from the committed one: commit the file `npm run build` wrote')
  })
})

