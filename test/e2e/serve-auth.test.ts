import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { authArgs, authSuite, authTree } from '../helpers/auth-suite.js'
import { zreg } from '../helpers/cli.js'
import { startZregServe } from '../helpers/servers.js'

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
