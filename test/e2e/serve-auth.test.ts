import assert from 'node:assert/strict'
import { copyFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { authArgs, authSuite, authTree, basic } from '../helpers/auth-suite.js'
import { rawRequest } from '../helpers/http.js'
import { zreg } from '../helpers/cli.js'
import { startZregPush, startZregServe, waitFor } from '../helpers/servers.js'

authSuite('zreg serve --auth: Basic auth over a built tree, a public part and a private part', (site, auth) => startZregServe(site, authArgs(auth)), { catalog: 'filtered' })

test('zreg serve --auth: the htpasswd file may not be inside the tree; a bad glob fails before the server starts', async () => {
  const { dir, site, users } = await authTree()
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
  // Rules with nobody to log in would leave everything open: refused, not dropped.
  const open = await zreg(['serve', site, '--read', 'authenticated', '--port', '0'])
  assert.equal(open.exitCode, 2)
  assert.match(open.stderr, /--read needs --auth htpasswd:FILE/)
  const openPush = await zreg(['push', '--store', join(dir, 'store'), '--out', site, '--private', 'team/**', '--port', '0'])
  assert.equal(openPush.exitCode, 2)
  assert.match(openPush.stderr, /--private needs --auth htpasswd:FILE/)
  await rm(inside)
})

test('zreg serve --auth and push mode follow the htpasswd file as it changes, without a restart', async () => {
  const { dir, site, users } = await authTree()
  for (const [mode, start] of [
    ['zreg serve', (file: string) => startZregServe(site, ['--auth', `htpasswd:${file}`, '--private', 'team/**'])],
    ['push mode', (file: string) => startZregPush(join(dir, 'push-store'), join(dir, 'push-site'), ['--auth', `htpasswd:${file}`, '--private', 'team/**'])],
  ] as const) {
    const file = join(dir, `changing-${mode.replace(' ', '-')}.htpasswd`)
    await copyFile(users, file)
    const server = await start(file)
    try {
      const status = async (user: string, password: string) => (await rawRequest(server.url, 'GET', '/v2/', { Authorization: basic(user, password) })).status
      // An authorization scheme is case-insensitive, as the hosts read it.
      assert.equal((await rawRequest(server.url, 'GET', '/v2/', { Authorization: basic('alice', 'alice-secret').replace('Basic', 'basic') })).status, 200, mode)
      // htpasswd rewrites the file in place: a new password and a new user count, the old password no longer does.
      await execa('htpasswd', ['-B', '-b', file, 'alice', 'new-secret'])
      await execa('htpasswd', ['-B', '-b', file, 'bob', 'bob-secret'])
      await waitFor(async () => (await status('alice', 'new-secret')) === 200, `${mode}: alice's new password`, 5000)
      // Each of zreg serve's workers reads the file on its own, within a second.
      await waitFor(async () => (await status('alice', 'alice-secret')) === 401, `${mode}: the old password, remembered as good, forgotten`, 5000)
      await waitFor(async () => (await status('bob', 'bob-secret')) === 200, `${mode}: bob added`, 5000)
      // A user removed is out.
      await execa('htpasswd', ['-D', file, 'alice'])
      await waitFor(async () => (await status('alice', 'new-secret')) === 401, `${mode}: alice removed`, 5000)
      // A file that turns invalid lets nobody in, and says why; fixed, it counts again.
      await writeFile(file, 'bob:plain-text\n')
      await waitFor(async () => (await status('bob', 'bob-secret')) === 401, `${mode}: an invalid file`, 5000)
      await waitFor(async () => /nobody can log in until the htpasswd file is fixed: .*:1 is not a bcrypt entry/.test(server.log()), `${mode}: the reason logged`, 5000)
      await execa('htpasswd', ['-B', '-b', '-c', file, 'bob', 'bob-secret'])
      await waitFor(async () => (await status('bob', 'bob-secret')) === 200, `${mode}: the file fixed`, 5000)
    } finally {
      await server.stop()
    }
  }
})
