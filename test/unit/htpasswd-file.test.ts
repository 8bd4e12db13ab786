import assert from 'node:assert/strict'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import bcrypt from 'bcryptjs'
import { htpasswdOutside, readHtpasswd } from '../../src/access/htpasswd-file.js'
import { treeHolding } from '../../src/access/inside-tree.js'
import { ZregError } from '../../src/errors.js'
import { Htpasswd } from '../../src/server/auth/htpasswd.js'
import { tempDir } from '../helpers/paths.js'

const invalid = (pattern: RegExp) => (error: unknown) => error instanceof ZregError && error.code === 'HTPASSWD_INVALID' && pattern.test(error.message)

test('readHtpasswd: bcrypt entries, comments and blank lines skipped; anything else names its line; no user is refused', async () => {
  const dir = await tempDir('htpasswd-file')
  const hash = bcrypt.hashSync('secret', 4)
  const good = join(dir, 'good')
  await writeFile(good, `# users\n\nalice:${hash}\n  bob:${hash.replace(/^\$2a\$/, '$2y$')}  \n`)
  assert.deepEqual([...(await readHtpasswd(good)).keys()], ['alice', 'bob'])
  const cases: [string, RegExp][] = [
    [`alice:${hash}\ncarol:$apr1$abcdefgh$0123456789abcdefghijkl\n`, /:2 is not a bcrypt entry/],
    ['carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n', /:1 is not a bcrypt entry/],
    [`:${hash}\n`, /:1 is not a bcrypt entry/],
    ['# nobody yet\n', /holds no user, so nobody could log in/],
    [`alice:${hash}\nbob:${hash}\nalice:${hash}\n`, /:3 names alice, whom line 1 names already/],
    ['', /holds no user/],
  ]
  for (const [i, [text, message]] of cases.entries()) {
    const file = join(dir, `bad-${i}`)
    await writeFile(file, text)
    await assert.rejects(readHtpasswd(file), invalid(message), JSON.stringify(text))
  }
})

test('treeHolding: inside a tree as given or through links; a sibling with the same prefix is outside', async () => {
  const dir = await tempDir('tree-holding')
  const tree = join(dir, 'site')
  await mkdir(join(tree, 'v2'), { recursive: true })
  await mkdir(join(dir, 'site2'))
  await writeFile(join(tree, 'v2', 'users'), 'x')
  await writeFile(join(dir, 'site2', 'users'), 'x')
  await symlink(join(tree, 'v2', 'users'), join(dir, 'to-inside'))
  await symlink(tree, join(dir, 'site-link'))
  await symlink(join(dir, 'site2', 'users'), join(tree, 'to-outside'))
  assert.equal(await treeHolding(join(tree, 'v2', 'users'), [tree]), tree)
  assert.equal(await treeHolding(tree, [tree]), tree, 'the tree itself')
  assert.equal(await treeHolding(join(dir, 'to-inside'), [tree]), tree, 'a link to a file inside')
  assert.equal(await treeHolding(join(dir, 'site2', 'users'), [join(dir, 'site-link')]), undefined)
  assert.equal(await treeHolding(join(tree, 'v2', 'users'), [join(dir, 'site-link')]), join(dir, 'site-link'), 'a link to the tree')
  assert.equal(await treeHolding(join(tree, 'to-outside'), [tree]), tree, 'a link inside the tree is served, wherever it leads')
  assert.equal(await treeHolding(join(dir, 'site2', 'users'), [tree]), undefined, 'site2 is not inside site')
  assert.equal(await treeHolding(join(dir, 'site2', 'users'), ['/srv/not-here', tree]), undefined, 'a tree that is not here (a deployed root)')
  assert.equal(await treeHolding('/srv/not-here/users', ['/srv/not-here']), '/srv/not-here')
  assert.equal(await treeHolding(join(dir, 'site-link', 'new', 'conf'), [tree]), tree, 'a directory yet to be made, under a link to the tree')
  assert.equal(await treeHolding(join(dir, 'users'), ['/']), '/', 'the root holds everything')
  await assert.rejects(htpasswdOutside(join(dir, 'to-inside'), [tree]), (error: unknown) => error instanceof ZregError && error.code === 'USAGE' && /to-inside is inside the tree it protects/.test(error.message))
  await htpasswdOutside(join(dir, 'site2', 'users'), [tree])
})

test('Htpasswd follows its file: a changed password, a removed user, an invalid file (nobody in, logged), a fixed one', async () => {
  const dir = await tempDir('htpasswd-reload')
  const file = join(dir, 'users')
  const entry = (user: string, password: string) => `${user}:${bcrypt.hashSync(password, 4)}\n`
  await writeFile(file, entry('alice', 'one'))
  const logged: string[] = []
  const users = await Htpasswd.load(file, { recheckMs: 0, log: (line) => logged.push(line) })
  assert.equal(await users.verify('alice', 'one'), true)
  assert.equal(await users.verify('alice', 'one'), true, 'remembered')
  await writeFile(file, entry('alice', 'two') + entry('bob', 'three'))
  assert.equal(await users.verify('alice', 'one'), false, 'the remembered password is forgotten')
  assert.equal(await users.verify('alice', 'two'), true)
  assert.equal(await users.verify('bob', 'three'), true)
  await writeFile(file, entry('bob', 'three') + 'carol:plain\n')
  assert.equal(await users.verify('bob', 'three'), false, 'an invalid file lets nobody in')
  assert.match(logged.join('\n'), /nobody can log in until the htpasswd file is fixed: .*users:2 is not a bcrypt entry/)
  await rm(file)
  assert.equal(await users.verify('bob', 'three'), false, 'nor a missing one')
  await writeFile(file, entry('bob', 'three'))
  assert.equal(await users.verify('bob', 'three'), true, 'fixed')
  // Within recheckMs the file is not looked at.
  const slow = await Htpasswd.load(file, { recheckMs: 60_000 })
  await writeFile(file, entry('bob', 'four'))
  assert.equal(await slow.verify('bob', 'three'), true)
})
