import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk, type CliResult } from '../helpers/cli.js'
import { cliPath, fixturesDir, tempDir } from '../helpers/paths.js'
import { startZregServe } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'

const layout = `oci:${join(fixturesDir, 'oci-layout')}`

interface JsonError {
  error: { code: string; ociCode: string; message: string; hint: string }
}

/** stdout of a --json run: exactly one line holding one error object. */
function jsonError(result: CliResult): JsonError['error'] {
  const lines = result.stdout.trim().split('\n')
  assert.equal(lines.length, 1, `one JSON line, got:\n${result.stdout.slice(0, 2000)}`)
  const parsed = JSON.parse(lines[0]!) as JsonError
  assert.deepEqual(Object.keys(parsed), ['error'])
  assert.ok(parsed.error.message.length > 0 && parsed.error.hint.length > 0)
  return parsed.error
}

/** A plain error report: "zreg: MESSAGE", the hint, no stack, no "bug". */
function assertPlainError(result: CliResult, message: RegExp): void {
  assert.match(result.stderr, /^zreg: /m)
  assert.match(result.stderr, message)
  assert.doesNotMatch(result.stderr, /This is a bug|\n\s+at /)
}

/** A tmpfs mounted for one test (read-only, or tiny so that it fills), unmounted after the file. */
const mounts: string[] = []
async function mountTmpfs(options: string): Promise<string> {
  const dir = await tempDir('tmpfs')
  await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir])
  mounts.push(dir)
  return dir
}
after(async () => {
  for (const dir of mounts) await execa('umount', [dir], { reject: false })
})

describe('usage errors: one JSON object under --json, a short message otherwise, exit 2', () => {
  const cases: { what: string; args: string[]; message: RegExp }[] = [
    { what: 'a missing argument', args: ['add'], message: /Missing 1 required arg: source/ },
    { what: 'an unknown flag', args: ['ls', '--bogus'], message: /Nonexistent flag: --bogus/ },
    { what: 'a value outside the options', args: ['add', layout, '--format', 'tar'], message: /--format=tar to be one of: docker, oci/ },
    { what: 'a port out of range', args: ['serve', '--port', '70000'], message: /--port: Expected an integer less than or equal to 65535 but received: 70000/ },
    { what: 'a port out of range in ZREG_PORT', args: ['serve'], message: /less than or equal to 65535/ },
    { what: 'an unknown command, with the likely one', args: ['ad'], message: /"ad" is not a zreg command; did you mean `zreg add`\?/ },
    { what: 'a flag before the command', args: ['--config', 'zreg.json', 'ls'], message: /"--config" stands where the command belongs: write the command first/ },
  ]
  for (const { what, args, message } of cases) {
    test(what, async () => {
      const env: Record<string, string> = what.includes('ZREG_PORT') ? { ZREG_PORT: '70000' } : {}
      const json = await zreg([...args, '--json'], { env })
      assert.equal(json.exitCode, 2)
      const error = jsonError(json)
      assert.equal(error.code, 'USAGE')
      assert.match(error.message, message)
      assert.doesNotMatch(json.stdout, /package\.json|"oclif"|\/root/)
      const plain = await zreg(args, { env })
      assert.equal(plain.exitCode, 2)
      assert.equal(plain.stdout, '')
      assertPlainError(plain, message)
      assert.match(plain.stderr, /zreg help/)
    })
  }
})

describe('system errors get the table entry that says what to do, never "a bug"', () => {
  test('a read-only file system (EROFS)', async () => {
    const dir = await mountTmpfs('ro,size=1m')
    const result = await zreg(['add', layout, '--store', join(dir, 'store'), '--json'])
    assert.equal(result.exitCode, 2)
    const error = jsonError(result)
    assert.equal(error.code, 'PERMISSION_DENIED')
    assert.match(error.message, new RegExp(`${dir}.*read-only`))
  })

  test('a read-only file system names the path zreg wanted, not a temp name, for the store and the tree', async () => {
    const dir = await mountTmpfs('ro,size=1m')
    const store = join(await tempDir('ro-build'), 'store')
    await zregOk(['add', layout, '--store', store])
    const cases: [string[], string][] = [
      [['add', layout, '--store', join(dir, 'store')], join(dir, 'store')],
      [['build', '--store', store, '--out', join(dir, 'deep', 'site')], join(dir, 'deep')],
    ]
    for (const [args, path] of cases) {
      const result = await zreg([...args, '--json'])
      assert.equal(result.exitCode, 2, args.join(' '))
      const error = jsonError(result)
      assert.equal(error.code, 'PERMISSION_DENIED')
      assert.equal(error.message, `cannot create the directory ${path}: the file system is read-only`)
    }
  })

  test('a full disk (ENOSPC) names the store, exits 5, and leaves no store behind', async () => {
    const dir = await mountTmpfs('size=64k')
    const store = join(dir, 'new', 'store')
    const result = await zreg(['add', layout, '--store', store])
    assert.equal(result.exitCode, 5)
    assertPlainError(result, new RegExp(`cannot write ${store}/\\S+: no space left on the device`))
    assert.match(result.stderr, /Free space/)
    assert.deepEqual(await readdir(dir), [], 'the failed first add removed the store and the parent it made')
  })

  test('permission denied (EACCES), as a user who may not write there', async () => {
    const dir = await tempDir('denied')
    await chmod(dir, 0o755)
    const home = await tempDir('home')
    await chmod(home, 0o777)
    const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cliPath, 'add', layout, '--store', join(dir, 'store')], {
      reject: false,
      env: { HOME: home, FORCE_COLOR: '0' },
      stdin: 'ignore',
    })
    assert.equal(result.exitCode, 2)
    assertPlainError({ exitCode: 2, stdout: String(result.stdout), stderr: String(result.stderr) }, new RegExp(`cannot create the directory ${dir}/\\S+: permission denied`))
    assert.match(String(result.stderr), /Run as a user who may use that path/)
  })

  test('a file where a directory belongs (ENOTDIR)', async () => {
    const file = join(await tempDir('notdir'), 'file')
    await writeFile(file, 'x')
    const result = await zreg(['add', layout, '--store', join(file, 'store'), '--json'])
    assert.equal(result.exitCode, 2)
    const error = jsonError(result)
    assert.equal(error.code, 'PATH_INVALID')
    assert.match(error.message, new RegExp(`${file}/store: a part of the path is a file`))
  })

  test('a directory given as the config file (EISDIR) and a missing one (ENOENT)', async () => {
    const dir = await tempDir('config-dir')
    const isDir = await zreg(['ls', '--config', dir, '--json'])
    assert.equal(isDir.exitCode, 2)
    assert.match(jsonError(isDir).message, new RegExp(`cannot read ${dir}: it is a directory`))
    const missing = await zreg(['ls', '--config', join(dir, 'none.json')])
    assert.equal(missing.exitCode, 2)
    assertPlainError(missing, /none\.json: no such file or directory \(the config file --config or ZREG_CONFIG names\)/)
  })

  test('a host name that does not resolve (ENOTFOUND) and an address not of this machine (EADDRNOTAVAIL)', async () => {
    const { site } = await sharedSite()
    const unknown = await zreg(['serve', site, '--host', 'no-such-host.invalid', '--port', '0', '--json'])
    assert.equal(unknown.exitCode, 2)
    const error = jsonError(unknown)
    assert.equal(error.code, 'HOST_UNKNOWN')
    assert.match(error.message, /no-such-host\.invalid/)
    const foreign = await zreg(['serve', site, '--host', '192.0.2.1', '--port', '0'])
    assert.equal(foreign.exitCode, 2)
    assertPlainError(foreign, /192\.0\.2\.1 is not an address of this machine/)
  })

  test('a port in use exits 5 and names the port', async () => {
    const { site } = await sharedSite()
    const first = await startZregServe(site)
    try {
      const port = first.authority.split(':')[1]!
      const plain = await zreg(['serve', site, '--port', port])
      assert.equal(plain.exitCode, 5)
      assertPlainError(plain, new RegExp(`127\\.0\\.0\\.1:${port}: the port is already in use`))
      const busy = await tempDir('busy')
      const json = await zreg(['push', '--store', join(busy, 'store'), '--out', join(busy, 'site'), '--port', port, '--json'])
      assert.equal(json.exitCode, 5)
      assert.equal(jsonError(json).code, 'PORT_IN_USE')
    } finally {
      await first.stop()
    }
  })
})

describe('messages that name what is wrong', () => {
  test('zreg ls of a repository the store does not hold exits 3', async () => {
    const { store } = await sharedSite()
    const result = await zreg(['ls', 'no/such-repo', '--store', store])
    assert.equal(result.exitCode, 3)
    assertPlainError(result, /repository no\/such-repo is not in the store/)
  })

  test('a command that reads the store, given none, says to add an image first (exit 3)', async () => {
    const absent = join(await tempDir('none'), 'absent')
    for (const command of ['ls', 'verify', 'build']) {
      const result = await zreg([command, '--store', absent])
      assert.equal(result.exitCode, 3, command)
      assertPlainError(result, new RegExp(`there is no store at ${absent}`))
      assert.match(result.stderr, /zreg add SOURCE/)
      assert.equal(existsSync(absent), false)
    }
  })

  test('a store path that is a file, or lies under one, says which', async () => {
    const file = join(await tempDir('store-file'), 'file')
    await writeFile(file, 'not a store')
    const itself = await zreg(['add', layout, '--store', file])
    assert.equal(itself.exitCode, 4)
    assertPlainError(itself, new RegExp(`${file} is a file, not a store directory`))
    const under = await zreg(['ls', '--store', join(file, 'store')])
    assert.equal(under.exitCode, 2)
    assertPlainError(under, new RegExp(`${file}/store: a part of the path is a file, not a directory`))
  })

  test('a failed first add leaves no store behind, whatever failed', async () => {
    const dir = await tempDir('first-add')
    for (const source of ['bogus:x', `oci:${join(dir, 'no-layout')}`, `oci:${join(fixturesDir, 'oci-layout')}:no-such-ref`]) {
      const result = await zreg(['add', source, '--store', join(dir, 'a', 'b', 'store')])
      assert.notEqual(result.exitCode, 0, source)
      assert.deepEqual(await readdir(dir), [], source)
    }
    await mkdir(join(dir, 'kept'))
    await zreg(['add', 'bogus:x', '--store', join(dir, 'kept')])
    assert.ok(existsSync(join(dir, 'kept')), 'a directory that existed before is kept')
  })

  test('a missing TLS or htpasswd file is named with the flag that gave it; a malformed digest is a usage error', async () => {
    const { site, store } = await sharedSite()
    const dir = await tempDir('named-files')
    const tls = await zreg(['serve', site, '--port', '0', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')])
    assert.equal(tls.exitCode, 3)
    assertPlainError(tls, new RegExp(`cannot open ${dir}/(cert|key)\\.pem: no such file or directory \\(the (certificate, --tls-cert|private key, --tls-key)\\)`))
    const htpasswd = await zreg(['push', '--store', join(dir, 'store'), '--port', '0', '--auth', `htpasswd:${join(dir, 'users')}`, '--json'])
    assert.equal(htpasswd.exitCode, 3)
    assert.match(jsonError(htpasswd).message, /users: no such file or directory \(the htpasswd file of --auth or auth\.htpasswd\)/)
    const digest = await zreg(['inspect', 'fixtures/single@sha256:12', '--store', store])
    assert.equal(digest.exitCode, 2)
    assertPlainError(digest, /after @ comes a digest/)
    assert.doesNotMatch(digest.stderr, /corrupt/)
  })

  test('a config file error names the bad key and the allowed values', async () => {
    const dir = await tempDir('config-keys')
    await writeFile(join(dir, 'zreg.json'), JSON.stringify({ stor: './s', serve: { prot: 5000 }, auth: { read: 'everyone' } }))
    const result = await zreg(['ls'], { cwd: dir })
    assert.equal(result.exitCode, 2)
    assertPlainError(result, /\/stor is not a known key/)
    assert.match(result.stderr, /\/serve\/prot is not a known key of \/serve/)
    assert.match(result.stderr, /\/auth\/read must be one of "anonymous", "authenticated"/)
    await writeFile(join(dir, 'zreg.json'), JSON.stringify({ serve: { port: '70000' } }))
    const port = await zreg(['serve'], { cwd: dir })
    assert.equal(port.exitCode, 2)
    assertPlainError(port, /serve\.port in the config file is "70000"; a port is an integer from 0 to 65535/)
  })
})
