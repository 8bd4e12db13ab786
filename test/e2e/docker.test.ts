import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { canRunDockerd, startDockerd } from '../helpers/dockerd.js'
import { fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import type { AuthSettings } from '../../src/access/read-rules.js'
import { apacheModes, deployToApache } from '../helpers/apache.js'
import { authArgs } from '../helpers/auth-suite.js'
import { startCaddy, startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'

describe('docker against push mode', { skip: canRunDockerd ? false : 'dockerd needs root' }, () => {
  let dir: string
  let engineDir: string
  let engine: Awaited<ReturnType<typeof startDockerd>>
  let push: TestServer
  let image: FixtureImage
  const docker = (args: string[]) => execa('docker', args, { env: engine.env, reject: false, timeout: 120_000 })

  before(async () => {
    dir = await tempDir('docker')
    engineDir = await mkdtemp(join(tmpdir(), 'zreg-docker-'))
    engine = await startDockerd(engineDir)
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    push = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`])
    image = (await loadFixtures()).images.find((candidate) => candidate.name === 'dockerold/app:1.0')!
  })
  after(async () => {
    await push?.stop()
    await engine?.stop()
    await rm(engineDir, { recursive: true, force: true })
  })

  test('docker pushes after docker login, and docker pulls the same image back from push mode and from zreg serve', async () => {
    const loaded = await docker(['load', '-i', join(fixturesDir, 'docker-old.tar')])
    assert.equal(loaded.exitCode, 0, loaded.stderr)
    const target = `${push.authority}/team/docker:1`
    assert.equal((await docker(['tag', image.name, target])).exitCode, 0)
    const anonymous = await docker(['push', target])
    assert.notEqual(anonymous.exitCode, 0, 'an anonymous push is refused')
    assert.match(anonymous.stderr, /unauthorized|authentication required/)
    await writeFile(join(engineDir, 'password'), 'alice-secret')
    const login = await execa('docker', ['login', '-u', 'alice', '--password-stdin', push.authority], { env: engine.env, reject: false, inputFile: join(engineDir, 'password') })
    assert.equal(login.exitCode, 0, login.stderr)
    const pushed = await docker(['push', target])
    assert.equal(pushed.exitCode, 0, pushed.stderr)

    // Nothing local is left, so the pulls below fetch every layer; the image ID is the config's digest.
    assert.equal((await docker(['rmi', image.name, target])).exitCode, 0)
    const pulled = await docker(['pull', target])
    assert.equal(pulled.exitCode, 0, pulled.stderr)
    assert.equal((await docker(['inspect', '--format', '{{.Id}}', target])).stdout.trim(), image.configDigest)

    const serve = await startZregServe(join(dir, 'site'))
    try {
      const fromTree = `${serve.authority}/team/docker:1`
      const pulledFromTree = await docker(['pull', fromTree])
      assert.equal(pulledFromTree.exitCode, 0, pulledFromTree.stderr)
      assert.equal((await docker(['inspect', '--format', '{{.Id}}', fromTree])).stdout.trim(), image.configDigest)
    } finally {
      await serve.stop()
    }
  })

  // zreg serve --auth, and each web server with the Basic auth zreg server-config --auth generated for it.
  const privateTeam = (users: string): AuthSettings => ({ htpasswd: users, read: 'anonymous', private: ['team/**'] })
  const privateHosts: [string, (site: string, users: string) => Promise<TestServer>][] = [
    ['zreg serve --auth', (site, users) => startZregServe(site, authArgs(privateTeam(users)))],
    ['nginx', (site, users) => startNginx(site, { args: authArgs(privateTeam(users)) })],
    ['Caddy', (site, users) => startCaddy(site, { args: authArgs(privateTeam(users)) })],
    ['Apache', (site, users) => deployToApache(apacheModes[0]!, site, privateTeam(users))],
  ]
  for (const [name, start] of privateHosts) {
    test(`docker logs in to ${name} and pulls a private repository; logged out or with a wrong password, it cannot`, async () => {
      // Apache's workers run as nobody when the tests run as root.
      await chmod(dir, 0o755)
      const users = join(dir, 'users.htpasswd')
      await chmod(users, 0o644)
      const server = await start(join(dir, 'site'), users)
      try {
        const target = `${server.authority}/team/docker:1`
        await docker(['rmi', target])
        const anonymous = await docker(['pull', target])
        assert.notEqual(anonymous.exitCode, 0, 'no anonymous pull of a private repository')
        await writeFile(join(engineDir, 'wrong'), 'nope')
        const wrong = await execa('docker', ['login', '-u', 'alice', '--password-stdin', server.authority], { env: engine.env, reject: false, inputFile: join(engineDir, 'wrong') })
        assert.notEqual(wrong.exitCode, 0, 'a wrong password is refused at login')
        const login = await execa('docker', ['login', '-u', 'alice', '--password-stdin', server.authority], { env: engine.env, reject: false, inputFile: join(engineDir, 'password') })
        assert.equal(login.exitCode, 0, login.stderr)
        const pulled = await docker(['pull', target])
        assert.equal(pulled.exitCode, 0, pulled.stderr)
        assert.equal((await docker(['inspect', '--format', '{{.Id}}', target])).stdout.trim(), image.configDigest)
        await docker(['logout', server.authority])
      } finally {
        await server.stop()
      }
    })
  }
})
