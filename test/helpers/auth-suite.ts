import assert from 'node:assert/strict'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import type { AuthSettings } from '../../src/access/read-rules.js'
import { zregOk } from './cli.js'
import { rawRequest } from './http.js'
import { absoluteSource, tempDir } from './paths.js'
import type { TestServer } from './servers.js'

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** A server of a built tree with Basic auth: `zreg serve --auth`, or a host with the configuration `zreg server-config --auth` made. */
export type StartWithAuth = (site: string, auth: AuthSettings) => Promise<TestServer>

/** The flags that ask for `auth` (zreg serve, zreg server-config). */
export function authArgs(auth: AuthSettings): string[] {
  return ['--auth', `htpasswd:${auth.htpasswd}`, '--read', auth.read, ...(auth.public ?? []).flatMap((glob) => ['--public', glob]), ...(auth.private ?? []).flatMap((glob) => ['--private', glob])]
}

export interface AuthTree {
  dir: string
  site: string
  /** An htpasswd file (outside the tree) with alice / alice-secret. */
  users: string
}

let shared: Promise<AuthTree> | undefined
/** team/a, team/b and base/img, built once per test file, and the users, readable by a server running as nobody. */
export function authTree(): Promise<AuthTree> {
  shared ??= (async () => {
    const dir = await tempDir('auth-tree')
    await chmod(dir, 0o755)
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    await chmod(users, 0o644)
    const store = join(dir, 'store')
    for (const name of ['team/a:1', 'team/b:1', 'base/img:1']) await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', name, '--store', store])
    const site = join(dir, 'site')
    await zregOk(['build', '--store', store, '--out', site])
    await execa('chmod', ['-R', 'a+rX', site])
    return { dir, site, users }
  })()
  return shared
}

async function inspect(server: TestServer, image: string, args: string[] = []): Promise<boolean> {
  return (await execa('skopeo', ['inspect', '--retry-times', '0', '--tls-verify=false', ...args, `docker://${server.authority}/${image}`], { reject: false })).exitCode === 0
}

type Catalog = { repositories: string[] }

export interface AuthSuiteOptions {
  /**
   * What anonymous clients get for the catalog while a repository is private: `filtered`, the list of
   * what they may read (zreg serve); `login`, a 401 (a host serving a file, which cannot filter it).
   */
  catalog: 'filtered' | 'login'
}

/**
 * Basic auth over a built tree, as a client sees it: `team/**` private, the rest public. `/v2/` asks
 * clients to log in; every read route of the private part needs a user and answers them privately; a
 * wrong password is refused everywhere; the catalog and its page show no private repository to
 * anonymous clients; podman login, skopeo --creds; with `--read authenticated --public base/*`, only
 * the public part is open.
 */
export function authSuite(name: string, start: StartWithAuth, options: AuthSuiteOptions): void {
  describe(name, () => {
    let tree: AuthTree
    let server: TestServer
    before(async () => {
      tree = await authTree()
      server = await start(tree.site, { htpasswd: tree.users, read: 'anonymous', private: ['team/**'] })
    })
    after(async () => server?.stop())

    test('/v2/ answers 401 with a Basic challenge and the OCI error body, so clients log in', async () => {
      const ping = await rawRequest(server.url, 'GET', '/v2/')
      assert.equal(ping.status, 401)
      assert.match(String(ping.headers['www-authenticate']), /^Basic realm="zreg"/)
      assert.equal((JSON.parse(ping.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED')
      const user = await rawRequest(server.url, 'GET', '/v2/', { Authorization: basic('alice', 'alice-secret') })
      assert.equal(user.status, 200)
      // A cache that kept a user's 200 would let `docker login` pass any password.
      assert.match(String(user.headers['cache-control']), /^private|^no-cache/)
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
          assert.match(String(user.headers.vary), /Authorization/, `${method} ${path}`)
        }
      }
      // A private repository, or tag, that does not exist is no different from one that does; nor is a
      // containerd mirror request while anything needs a login.
      for (const path of ['/v2/team/nothing/tags/list', '/v2/team/a/manifests/nothing', '/v2/a/tags/list?ns=team', '/v2/nothing/tags/list?ns=team', '/v2/team/a/tags/list?ns=example.com', '/v2/team/nothing/tags/list?ns=example.com']) {
        assert.equal((await rawRequest(server.url, 'GET', path)).status, 401, path)
      }
      // A path is decided as the server reads it: dot segments, doubled slashes and percent-encoding
      // lead to the private part's login, or to nothing.
      for (const path of ['/v2/base/img/../../team/a/tags/list', '/v2/team//a/tags/list', '/v2/te%61m/a/tags/list', '/v2/team%2fa/tags/list']) {
        const answer = await rawRequest(server.url, 'GET', path)
        assert.ok([401, 404].includes(answer.status), `${path}: ${answer.status}`)
        assert.doesNotMatch(answer.body.toString(), /"tags"/, path)
      }
      assert.equal((await rawRequest(server.url, 'GET', '/v2/team/a/manifests/nothing', { Authorization: basic('alice', 'alice-secret') })).status, 404)
      assert.equal((await rawRequest(server.url, 'GET', '/v2/a/tags/list?ns=team', { Authorization: basic('alice', 'alice-secret') })).status, 200, "a user's mirror request")
      // Writes are no route of a tree, whatever the credentials.
      assert.equal((await rawRequest(server.url, 'PUT', '/v2/team/a/manifests/2', { Authorization: basic('alice', 'alice-secret') })).status, 405)
    })

    test('the catalog and the catalog page: a private repository is invisible to anonymous users', async () => {
      const catalog = await rawRequest(server.url, 'GET', '/v2/_catalog')
      if (options.catalog === 'filtered') {
        assert.deepEqual((JSON.parse(catalog.body.toString()) as Catalog).repositories, ['base/img'])
        assert.match(String(catalog.headers['cache-control']), /^private|^no-cache/)
        assert.match(String(catalog.headers.vary), /Authorization/)
      } else {
        assert.equal(catalog.status, 401)
        assert.doesNotMatch(catalog.body.toString(), /team/)
      }
      const logged = await rawRequest(server.url, 'GET', '/v2/_catalog', { Authorization: basic('alice', 'alice-secret') })
      assert.deepEqual((JSON.parse(logged.body.toString()) as Catalog).repositories, ['base/img', 'team/a', 'team/b'])
      // The page lists every repository: a browser is asked to log in.
      const page = await rawRequest(server.url, 'GET', '/')
      assert.equal(page.status, 401)
      assert.match(String(page.headers['www-authenticate']), /^Basic realm="zreg"/)
      assert.doesNotMatch(page.body.toString(), /team/)
      const shown = await rawRequest(server.url, 'GET', '/', { Authorization: basic('alice', 'alice-secret') })
      assert.equal(shown.status, 200)
      assert.match(shown.body.toString(), /team\/a/)
      assert.match(String(shown.headers.vary), /Authorization/)
    })

    test('podman login and skopeo --creds: wrong passwords refused, the private part pulled with the right ones', async () => {
      assert.ok(await inspect(server, 'base/img:1'), 'anonymous pull of the public part')
      assert.ok(!(await inspect(server, 'team/a:1')), 'no anonymous pull of the private part')
      assert.ok(!(await inspect(server, 'team/a:1', ['--creds', 'alice:nope'])))
      assert.ok(await inspect(server, 'team/a:1', ['--creds', 'alice:alice-secret']))
      const dir = await tempDir('auth-login')
      const auth = join(dir, 'auth.json')
      const wrong = await execa('podman', ['login', '--tls-verify=false', '--authfile', join(dir, 'wrong.json'), '-u', 'alice', '-p', 'nope', server.authority], { reject: false })
      assert.notEqual(wrong.exitCode, 0)
      const login = await execa('podman', ['login', '--tls-verify=false', '--authfile', auth, '-u', 'alice', '-p', 'alice-secret', server.authority], { reject: false })
      assert.equal(login.exitCode, 0, String(login.stderr))
      const pulled = await execa('podman', ['pull', '--tls-verify=false', '--authfile', auth, `${server.authority}/team/b:1`], { reject: false })
      assert.equal(pulled.exitCode, 0, String(pulled.stderr))
    })

    test('--read authenticated with --public: only the public part is open', async () => {
      const closed = await start(tree.site, { htpasswd: tree.users, read: 'authenticated', public: ['base/*'] })
      try {
        assert.equal((await rawRequest(closed.url, 'GET', '/v2/base/img/tags/list')).status, 200)
        assert.equal((await rawRequest(closed.url, 'GET', '/v2/team/a/tags/list')).status, 401)
        assert.equal((await rawRequest(closed.url, 'GET', '/v2/other/tags/list')).status, 401, 'a repository no glob names is closed too')
        assert.equal((await rawRequest(closed.url, 'GET', '/v2/team/a/tags/list', { Authorization: basic('alice', 'alice-secret') })).status, 200)
        const catalog = await rawRequest(closed.url, 'GET', '/v2/_catalog')
        if (options.catalog === 'filtered') assert.deepEqual((JSON.parse(catalog.body.toString()) as Catalog).repositories, ['base/img'])
        else assert.equal(catalog.status, 401)
      } finally {
        await closed.stop()
      }
    })
  })
}
