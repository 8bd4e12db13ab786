import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, tempDir } from '../helpers/paths.js'
import { startZregPush, type TestServer } from '../helpers/servers.js'

const source = () => absoluteSource('oci:oci-layout:fixtures/single:1.0')

async function copy(to: string, creds?: string): Promise<{ ok: boolean; stderr: string }> {
  const result = await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), source(), to], { reject: false })
  return { ok: result.exitCode === 0, stderr: String(result.stderr) }
}

async function inspect(from: string, creds?: string): Promise<boolean> {
  const result = await execa('skopeo', ['inspect', '--retry-times', '0', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), from], { reject: false })
  return result.exitCode === 0
}

describe('push mode access control', () => {
  let dir: string
  let users: string
  let server: TestServer
  before(async () => {
    dir = await tempDir('auth')
    users = join(dir, 'users.htpasswd')
    // A real bcrypt file, as an administrator would write it.
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    await execa('htpasswd', ['-B', '-b', users, 'bob', 'bob-secret'])
    await writeFile(join(dir, 'zreg.json'), JSON.stringify({ auth: { writers: { alice: ['team/'], bob: ['bob/'] } } }))
    server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`, '--config', join(dir, 'zreg.json')])
  })
  after(async () => server?.stop())

  test('skopeo pushes with the right credentials only; anyone may pull', async () => {
    const target = `docker://${server.authority}/team/app:1.0`
    const anonymous = await copy(target)
    assert.ok(!anonymous.ok)
    assert.match(anonymous.stderr, /unauthorized|authentication required/)
    const wrong = await copy(target, 'alice:nope')
    assert.ok(!wrong.ok)
    assert.match(wrong.stderr, /unauthorized|password/)
    assert.ok((await copy(target, 'alice:alice-secret')).ok)
    assert.ok(await inspect(target), 'anonymous pull')
  })

  test('write permission is per namespace', async () => {
    assert.ok(!(await copy(`docker://${server.authority}/bob/app:1.0`, 'alice:alice-secret')).ok, 'alice may not push to bob/')
    assert.ok((await copy(`docker://${server.authority}/bob/app:1.0`, 'bob:bob-secret')).ok)
  })

  test('the ping challenges anonymous clients with a Bearer realm, and a token for one repository grants nothing on another', async () => {
    const ping = await rawRequest(server.url, 'GET', '/v2/')
    assert.equal(ping.status, 401)
    assert.match(String(ping.headers['www-authenticate']), /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="zreg"/)
    const basic = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`
    const issued = await rawRequest(server.url, 'GET', '/token?service=zreg&scope=repository:team/one:pull,push', { Authorization: basic })
    assert.equal(issued.status, 200)
    const token = (JSON.parse(issued.body.toString()) as { token: string }).token
    const bearer = { Authorization: `Bearer ${token}` }
    assert.equal((await rawRequest(server.url, 'POST', '/v2/team/one/blobs/uploads/', bearer)).status, 202)
    const manifest = await rawRequest(server.url, 'GET', '/v2/team/app/manifests/1.0', { Accept: 'application/vnd.oci.image.manifest.v1+json' })
    const layer = (JSON.parse(manifest.body.toString()) as { layers: { digest: string }[] }).layers[0]!.digest
    const bareMount = await rawRequest(server.url, 'POST', `/v2/team/one/blobs/uploads/?mount=${layer}`, bearer)
    assert.equal(bareMount.status, 202, 'under access control, knowing a digest mounts nothing: name a readable from')
    assert.equal((await rawRequest(server.url, 'POST', `/v2/team/one/blobs/uploads/?mount=${layer}&from=team/app`, bearer)).status, 202, 'the token does not cover from')
    // As docker does for a mount: one token for both repositories.
    const both = await rawRequest(server.url, 'GET', '/token?service=zreg&scope=repository:team/one:pull,push&scope=repository:team/app:pull', { Authorization: basic })
    const mountToken = { Authorization: `Bearer ${(JSON.parse(both.body.toString()) as { token: string }).token}` }
    assert.equal((await rawRequest(server.url, 'POST', `/v2/team/one/blobs/uploads/?mount=${layer}&from=team/app`, mountToken)).status, 201)
    const other = await rawRequest(server.url, 'POST', '/v2/team/two/blobs/uploads/', bearer)
    assert.equal(other.status, 401)
    assert.match(String(other.headers['www-authenticate']), /scope="repository:team\/two:pull,push"/)
    assert.equal((await rawRequest(server.url, 'GET', '/token?scope=repository:team/one:push', { Authorization: `Basic ${Buffer.from('alice:bad').toString('base64')}` })).status, 401)
    const anonymousToken = (JSON.parse((await rawRequest(server.url, 'GET', '/token?scope=repository:team/one:pull,push')).body.toString()) as { token: string }).token
    assert.equal((await rawRequest(server.url, 'POST', '/v2/team/one/blobs/uploads/', { Authorization: `Bearer ${anonymousToken}` })).status, 401, 'an anonymous token grants pull only')
    assert.equal((await rawRequest(server.url, 'POST', '/v2/team/one/blobs/uploads/', { Authorization: `Bearer ${token.slice(0, -2)}xx` })).status, 401, 'a forged token')
  })
})

describe('push mode with --read authenticated', () => {
  test('pulls need credentials too', async () => {
    const dir = await tempDir('auth-read')
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'carol', 'carol-secret'])
    const server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`, '--read', 'authenticated'])
    try {
      const target = `docker://${server.authority}/any/app:1.0`
      assert.ok((await copy(target, 'carol:carol-secret')).ok)
      assert.ok(!(await inspect(target)), 'no anonymous pull')
      assert.ok(await inspect(target, 'carol:carol-secret'))
      assert.equal((await rawRequest(server.url, 'GET', '/v2/any/app/manifests/1.0')).status, 401)
    } finally {
      await server.stop()
    }
  })
})

describe('push mode: every route under one authorization table', () => {
  let dir: string
  let server: TestServer
  const secret = 'route-walk-secret'
  let config = ''
  let layer = ''
  before(async () => {
    dir = await tempDir('auth-routes')
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    await writeFile(join(dir, 'zreg.json'), JSON.stringify({ auth: { read: 'authenticated', public: ['base/**'], writers: { alice: ['team/', 'base/'] }, tokenSecret: secret } }))
    server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`, '--config', join(dir, 'zreg.json')])
    for (const name of ['team/a:1', 'team/b:1', 'base/img:1']) assert.ok((await copy(`docker://${server.authority}/${name}`, 'alice:alice-secret')).ok, name)
    const manifest = await rawRequest(server.url, 'GET', '/v2/team/a/manifests/1', { Accept: 'application/vnd.oci.image.manifest.v1+json', Authorization: basic('alice', 'alice-secret') })
    const parsed = JSON.parse(manifest.body.toString()) as { config: { digest: string }; layers: { digest: string }[] }
    config = parsed.config.digest
    layer = parsed.layers[0]!.digest
  })
  after(async () => server?.stop())

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  /** A token as the server signs them (or with another key, or expired), granting `access`. */
  const token = async (access: { type: string; name: string; actions: string[] }[], options: { key?: string; expired?: boolean } = {}) => {
    const { SignJWT } = await import('jose')
    const now = Math.floor(Date.now() / 1000)
    return `Bearer ${await new SignJWT({ access })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('zreg')
      .setAudience('zreg')
      .setSubject('alice')
      .setIssuedAt(now - 600)
      .setExpirationTime(options.expired ? now - 300 : now + 300)
      .sign(new TextEncoder().encode(options.key ?? secret))}`
  }
  const repository = (name: string, actions = ['pull', 'push', 'delete']) => ({ type: 'repository', name, actions })
  const uuid = '00000000-0000-4000-8000-000000000000'

  test('each route, with no credentials, Basic, a wrong password, a token for another repository, an expired token and one signed by another key', async () => {
    // Every route of the API on the private repository team/a, and what it needs (route-access.ts).
    const routes: { method: string; path: string; needs: 'ping' | 'catalog' | 'page' | 'pull' | 'push' | 'delete'; body?: string }[] = [
      { method: 'GET', path: '/v2/', needs: 'ping' },
      { method: 'GET', path: '/v2/_catalog', needs: 'catalog' },
      { method: 'GET', path: '/', needs: 'page' },
      { method: 'GET', path: '/v2/team/a/manifests/1', needs: 'pull' },
      { method: 'HEAD', path: '/v2/team/a/manifests/1', needs: 'pull' },
      { method: 'GET', path: `/v2/team/a/blobs/${config}`, needs: 'pull' },
      { method: 'HEAD', path: `/v2/team/a/blobs/${layer}`, needs: 'pull' },
      { method: 'GET', path: '/v2/team/a/tags/list', needs: 'pull' },
      { method: 'GET', path: `/v2/team/a/referrers/${config}`, needs: 'pull' },
      { method: 'PUT', path: '/v2/team/a/manifests/2', needs: 'push', body: '{}' },
      { method: 'DELETE', path: `/v2/team/a/manifests/sha256:${'0'.repeat(64)}`, needs: 'delete' },
      { method: 'DELETE', path: `/v2/team/a/blobs/sha256:${'0'.repeat(64)}`, needs: 'delete' },
      { method: 'POST', path: '/v2/team/a/blobs/uploads/', needs: 'push' },
      { method: 'GET', path: `/v2/team/a/blobs/uploads/${uuid}`, needs: 'push' },
      { method: 'PATCH', path: `/v2/team/a/blobs/uploads/${uuid}`, needs: 'push', body: 'x' },
      { method: 'PUT', path: `/v2/team/a/blobs/uploads/${uuid}?digest=sha256:${'0'.repeat(64)}`, needs: 'push' },
      { method: 'DELETE', path: `/v2/team/a/blobs/uploads/${uuid}`, needs: 'push' },
    ]
    const everything = await token([repository('team/a'), { type: 'registry', name: 'catalog', actions: ['*'] }])
    // Who asks, and which of the needs they meet.
    const callers: { who: string; authorization?: string; meets: (needs: string) => boolean }[] = [
      { who: 'no credentials', meets: (needs) => needs === 'catalog' },
      { who: 'Basic', authorization: basic('alice', 'alice-secret'), meets: () => true },
      { who: 'a wrong password', authorization: basic('alice', 'nope'), meets: () => false },
      { who: 'a token for another repository', authorization: await token([repository('team/b')]), meets: (needs) => needs === 'ping' || needs === 'page' },
      { who: 'a token for the repository', authorization: everything, meets: () => true },
      { who: 'an expired token', authorization: await token([repository('team/a')], { expired: true }), meets: () => false },
      { who: 'a token signed by another key', authorization: await token([repository('team/a')], { key: 'another-key' }), meets: () => false },
    ]
    for (const caller of callers) {
      for (const route of routes) {
        const response = await rawRequest(server.url, route.method, route.path, { ...(caller.authorization ? { Authorization: caller.authorization } : {}), ...(route.body ? { 'Content-Type': 'application/octet-stream' } : {}) }, route.body ? { body: route.body } : {})
        const label = `${route.method} ${route.path} with ${caller.who}`
        if (caller.meets(route.needs)) {
          assert.notEqual(response.status, 401, label)
          continue
        }
        assert.equal(response.status, 401, label)
        const challenge = String(response.headers['www-authenticate'])
        assert.match(challenge, /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="zreg"/, label)
        const scope = { ping: undefined, page: undefined, catalog: 'registry:catalog:*', pull: 'repository:team/a:pull', push: 'repository:team/a:pull,push', delete: 'repository:team/a:delete' }[route.needs]
        if (scope !== undefined) assert.ok(challenge.includes(`scope="${scope}"`), `${label}: ${challenge}`)
        assert.equal((JSON.parse(response.body.toString() || '{"errors":[{}]}') as { errors: { code?: string }[] }).errors[0]?.code ?? 'UNAUTHORIZED', 'UNAUTHORIZED', label)
      }
    }
  })

  test('the catalog lists only what the caller may read, and needs its own scope in a token', async () => {
    const list = async (authorization?: string, query = '') => {
      const response = await rawRequest(server.url, 'GET', `/v2/_catalog${query}`, authorization ? { Authorization: authorization } : {})
      return { status: response.status, repositories: response.status === 200 ? (JSON.parse(response.body.toString()) as { repositories: string[] }).repositories : [], link: response.headers.link }
    }
    assert.deepEqual((await list()).repositories, ['base/img'], 'anonymous: the public repositories only')
    assert.deepEqual((await list(basic('alice', 'alice-secret'))).repositories, ['base/img', 'team/a', 'team/b'])
    const paged = await list(basic('alice', 'alice-secret'), '?n=2')
    assert.deepEqual(paged.repositories, ['base/img', 'team/a'])
    assert.match(String(paged.link), /last=team%2Fa/)
    // The issue's case: a pull token for team/a is no catalog token.
    const pullOnly = await list(await token([repository('team/a', ['pull'])]))
    assert.equal(pullOnly.status, 401)
    // What the token endpoint grants: the catalog scope to alice (all of it), and to anyone (what anonymous may read).
    const issued = async (authorization?: string) => {
      const response = await rawRequest(server.url, 'GET', '/token?service=zreg&scope=registry:catalog:*', authorization ? { Authorization: authorization } : {})
      return `Bearer ${(JSON.parse(response.body.toString()) as { token: string }).token}`
    }
    assert.deepEqual((await list(await issued(basic('alice', 'alice-secret')))).repositories, ['base/img', 'team/a', 'team/b'])
    assert.deepEqual((await list(await issued())).repositories, ['base/img'])
    // An anonymous token grants no pull of a private repository, and the public one stays readable.
    const anonymous = (JSON.parse((await rawRequest(server.url, 'GET', '/token?scope=repository:team/a:pull&scope=repository:base/img:pull')).body.toString()) as { token: string }).token
    assert.equal((await rawRequest(server.url, 'GET', '/v2/team/a/tags/list', { Authorization: `Bearer ${anonymous}` })).status, 401)
    assert.equal((await rawRequest(server.url, 'GET', '/v2/base/img/tags/list', { Authorization: `Bearer ${anonymous}` })).status, 200)
  })

  test('clients log in and pull the private repositories; anonymous ones pull only the public part', async () => {
    assert.ok(await inspect(`docker://${server.authority}/base/img:1`), 'anonymous pull of a public repository')
    assert.ok(!(await inspect(`docker://${server.authority}/team/a:1`)), 'no anonymous pull of a private one')
    assert.ok(!(await inspect(`docker://${server.authority}/team/a:1`, 'alice:nope')), 'a wrong password')
    assert.ok(await inspect(`docker://${server.authority}/team/a:1`, 'alice:alice-secret'))
    const auth = join(dir, 'auth.json')
    const login = await execa('podman', ['login', '--tls-verify=false', '--authfile', auth, '-u', 'alice', '-p', 'alice-secret', server.authority], { reject: false })
    assert.equal(login.exitCode, 0, String(login.stderr))
    const wrong = await execa('podman', ['login', '--tls-verify=false', '--authfile', join(dir, 'wrong.json'), '-u', 'alice', '-p', 'nope', server.authority], { reject: false })
    assert.notEqual(wrong.exitCode, 0)
    const pulled = await execa('skopeo', ['inspect', '--tls-verify=false', '--authfile', auth, `docker://${server.authority}/team/b:1`], { reject: false })
    assert.equal(pulled.exitCode, 0, String(pulled.stderr))
    // skopeo delete asks for "*": alice may delete in team/.
    const deleted = await execa('skopeo', ['delete', '--tls-verify=false', '--authfile', auth, `docker://${server.authority}/team/b:1`], { reject: false })
    assert.equal(deleted.exitCode, 0, String(deleted.stderr))
  })
})
