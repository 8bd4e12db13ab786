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
