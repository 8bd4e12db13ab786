import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, tempDir } from '../helpers/paths.js'
import { startZregServe, type TestServer } from '../helpers/servers.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

async function inspect(server: TestServer, image: string, args: string[] = []): Promise<boolean> {
  return (await execa('skopeo', ['inspect', '--retry-times', '0', '--tls-verify=false', ...args, `docker://${server.authority}/${image}`], { reject: false })).exitCode === 0
}

describe('zreg serve --auth: Basic auth over a built tree, a public part and a private part', () => {
  let dir: string
  let users: string
  let site: string
  let server: TestServer
  before(async () => {
    dir = await tempDir('serve-auth')
    users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    const store = join(dir, 'store')
    for (const name of ['team/a:1', 'team/b:1', 'base/img:1']) await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', name, '--store', store])
    site = join(dir, 'site')
    await zregOk(['build', '--store', store, '--out', site])
    server = await startZregServe(site, ['--auth', `htpasswd:${users}`, '--private', 'team/**'])
  })
  after(async () => server?.stop())

  test('/v2/ answers 401 with a Basic challenge and the OCI error body, so clients log in', async () => {
    const ping = await rawRequest(server.url, 'GET', '/v2/')
    assert.equal(ping.status, 401)
    assert.equal(ping.headers['www-authenticate'], 'Basic realm="zreg", charset="UTF-8"')
    assert.equal((JSON.parse(ping.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED')
    assert.equal((await rawRequest(server.url, 'GET', '/v2/', { Authorization: basic('alice', 'alice-secret') })).status, 200)
    assert.equal((await rawRequest(server.url, 'GET', '/v2/', { Authorization: basic('alice', 'nope') })).status, 401)
    assert.equal((await rawRequest(server.url, 'GET', '/v2/', { Authorization: 'Bearer x' })).status, 401)
    // Empty credentials, as skopeo and podman send them when they have none: anonymous.
    assert.equal((await rawRequest(server.url, 'GET', '/v2/base/img/tags/list', { Authorization: basic('', '') })).status, 200)
    assert.equal((await rawRequest(server.url, 'GET', '/v2/team/a/tags/list', { Authorization: basic('', '') })).status, 401)
  })

  test('every read route: the public part for anyone, the private part for users only, wrong passwords refused', async () => {
    const manifest = await rawRequest(server.url, 'GET', '/v2/base/img/manifests/1', { Accept: 'application/vnd.oci.image.manifest.v1+json' })
    assert.equal(manifest.status, 200)
    const config = (JSON.parse(manifest.body.toString()) as { config: { digest: string } }).config.digest
    const paths = (repository: string) => [`/v2/${repository}/manifests/1`, `/v2/${repository}/blobs/${config}`, `/v2/${repository}/tags/list`, `/v2/${repository}/referrers/${config}`]
    for (const method of ['GET', 'HEAD']) {
      for (const path of paths('base/img')) {
        assert.equal((await rawRequest(server.url, method, path)).status, 200, `${method} ${path} anonymous`)
        assert.equal((await rawRequest(server.url, method, path, { Authorization: basic('alice', 'nope') })).status, 401, `${method} ${path} wrong password`)
      }
      for (const path of paths('team/a')) {
        const anonymous = await rawRequest(server.url, method, path)
        assert.equal(anonymous.status, 401, `${method} ${path} anonymous`)
        assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/)
        assert.equal((await rawRequest(server.url, method, path, { Authorization: basic('alice', 'nope') })).status, 401, `${method} ${path} wrong password`)
        const user = await rawRequest(server.url, method, path, { Authorization: basic('alice', 'alice-secret') })
        assert.equal(user.status, 200, `${method} ${path} alice`)
        // An answer for one caller: no shared cache in front may keep it for another.
        assert.match(String(user.headers['cache-control']), /^private|^no-cache/, `${method} ${path}`)
      }
    }
    // A private repository that does not exist is no different from one that does.
    assert.equal((await rawRequest(server.url, 'GET', '/v2/team/nothing/tags/list')).status, 401)
    // Writes are no route of a tree, whatever the credentials.
    assert.equal((await rawRequest(server.url, 'PUT', '/v2/team/a/manifests/2', { Authorization: basic('alice', 'alice-secret') })).status, 405)
  })

  test('the catalog and the catalog page: a private repository is invisible to anonymous users', async () => {
    const list = async (headers: Record<string, string> = {}) => JSON.parse((await rawRequest(server.url, 'GET', '/v2/_catalog', headers)).body.toString()) as { repositories: string[] }
    assert.deepEqual((await list()).repositories, ['base/img'])
    assert.deepEqual((await list({ Authorization: basic('alice', 'alice-secret') })).repositories, ['base/img', 'team/a', 'team/b'])
    const catalog = await rawRequest(server.url, 'GET', '/v2/_catalog')
    assert.match(String(catalog.headers['cache-control']), /^private|^no-cache/)
    assert.match(String(catalog.headers.vary), /Authorization/)
    // The page lists every repository: a browser is asked to log in.
    const page = await rawRequest(server.url, 'GET', '/')
    assert.equal(page.status, 401)
    assert.match(String(page.headers['www-authenticate']), /^Basic realm="zreg"/)
    const logged = await rawRequest(server.url, 'GET', '/', { Authorization: basic('alice', 'alice-secret') })
    assert.equal(logged.status, 200)
    assert.match(logged.body.toString(), /team\/a/)
  })

  test('podman login and skopeo --creds: wrong passwords refused, the private part pulled with the right ones', async () => {
    assert.ok(await inspect(server, 'base/img:1'), 'anonymous pull of the public part')
    assert.ok(!(await inspect(server, 'team/a:1')), 'no anonymous pull of the private part')
    assert.ok(!(await inspect(server, 'team/a:1', ['--creds', 'alice:nope'])))
    assert.ok(await inspect(server, 'team/a:1', ['--creds', 'alice:alice-secret']))
    const auth = join(dir, 'auth.json')
    const wrong = await execa('podman', ['login', '--tls-verify=false', '--authfile', join(dir, 'wrong.json'), '-u', 'alice', '-p', 'nope', server.authority], { reject: false })
    assert.notEqual(wrong.exitCode, 0)
    const login = await execa('podman', ['login', '--tls-verify=false', '--authfile', auth, '-u', 'alice', '-p', 'alice-secret', server.authority], { reject: false })
    assert.equal(login.exitCode, 0, String(login.stderr))
    const pulled = await execa('podman', ['pull', '--tls-verify=false', '--authfile', auth, `${server.authority}/team/b:1`], { reject: false })
    assert.equal(pulled.exitCode, 0, String(pulled.stderr))
  })

  test('--read authenticated with --public: only the public part is open; the htpasswd file may not be inside the tree', async () => {
    const closed = await startZregServe(site, ['--auth', `htpasswd:${users}`, '--read', 'authenticated', '--public', 'base/*'])
    try {
      assert.equal((await rawRequest(closed.url, 'GET', '/v2/base/img/tags/list')).status, 200)
      assert.equal((await rawRequest(closed.url, 'GET', '/v2/team/a/tags/list')).status, 401)
      assert.deepEqual((JSON.parse((await rawRequest(closed.url, 'GET', '/v2/_catalog')).body.toString()) as { repositories: string[] }).repositories, ['base/img'])
    } finally {
      await closed.stop()
    }
    const inside = join(site, 'users.htpasswd')
    await writeFile(inside, `alice:${(await execa('htpasswd', ['-B', '-b', '-n', 'alice', 'x'])).stdout.split(':')[1]}\n`)
    const refused = await zreg(['serve', site, '--auth', `htpasswd:${inside}`, '--port', '0'])
    assert.equal(refused.exitCode, 2)
    assert.match(refused.stderr, /inside the tree it protects/)
    const pushing = await zreg(['push', '--store', join(dir, 'store'), '--out', site, '--auth', `htpasswd:${inside}`, '--port', '0'])
    assert.equal(pushing.exitCode, 2, 'push mode keeps the tree it builds free of it too')
    assert.match(pushing.stderr, /inside the tree it protects/)
    const glob = await zreg(['serve', site, '--auth', `htpasswd:${users}`, '--private', 'Team/*', '--port', '0'])
    assert.equal(glob.exitCode, 2)
    assert.match(glob.stderr, /--private: "Team\/\*" is no repository glob/)
  })
})
