import assert from 'node:assert/strict'
import { test } from 'node:test'
import { repositoryGlob } from '../../src/oci/repository-glob.js'
import { requiredAccess } from '../../src/server/auth/route-access.js'

test('a repository glob: * within a component, ** across components, the rest literally', () => {
  const cases: [string, string, boolean][] = [
    ['team/*', 'team/app', true],
    ['team/*', 'team/app/web', false],
    ['team/*', 'team', false],
    ['team/**', 'team/app/web', true],
    ['team/**', 'teams/app', false],
    ['**', 'any/thing', true],
    ['base', 'base', true],
    ['base', 'base/x', false],
    ['a.b/*', 'aXb/c', false],
    ['lib/py*', 'lib/python', true],
    ['blobs/**', 'blobs/manifests/tags', true],
  ]
  for (const [glob, name, expected] of cases) assert.equal(repositoryGlob(glob, 'test').matches(name), expected, `${glob} ${name}`)
  for (const bad of ['', 'Team/*', '/team', 'team/', 'a//b', 'a/***', 'a b']) assert.throws(() => repositoryGlob(bad, '--private'), /--private: .* is no repository glob/, bad)
})

test('the authorization table names what each route needs, for names made of route words too', () => {
  const repository = (name: string, action: string) => ({ kind: 'repository', name, action })
  assert.deepEqual(requiredAccess('GET', '/v2/'), { kind: 'ping' })
  assert.deepEqual(requiredAccess('GET', '/v2'), { kind: 'ping' })
  assert.deepEqual(requiredAccess('GET', '/v2/_catalog'), { kind: 'catalog' })
  assert.deepEqual(requiredAccess('GET', '/'), { kind: 'page' })
  assert.deepEqual(requiredAccess('HEAD', '/v2/a/manifests/1'), repository('a', 'pull'))
  assert.deepEqual(requiredAccess('PUT', '/v2/a/manifests/1'), repository('a', 'push'))
  assert.deepEqual(requiredAccess('DELETE', '/v2/a/manifests/1'), repository('a', 'delete'))
  assert.deepEqual(requiredAccess('DELETE', '/v2/a/blobs/sha256:x'), repository('a', 'delete'))
  assert.deepEqual(requiredAccess('POST', '/v2/a/blobs/uploads/'), repository('a', 'push'))
  assert.deepEqual(requiredAccess('DELETE', '/v2/a/blobs/uploads/u'), repository('a', 'push'))
  assert.deepEqual(requiredAccess('GET', '/v2/a/blobs/uploads/u'), repository('a', 'push'))
  assert.deepEqual(requiredAccess('GET', '/v2/a/tags/list'), repository('a', 'pull'))
  assert.deepEqual(requiredAccess('GET', '/v2/a/referrers/sha256:x'), repository('a', 'pull'))
  // Adversarial names: components named like the routes.
  assert.deepEqual(requiredAccess('GET', '/v2/x/manifests/manifests/1'), repository('x/manifests', 'pull'))
  assert.deepEqual(requiredAccess('POST', '/v2/blobs/blobs/uploads/'), repository('blobs', 'push'))
  assert.deepEqual(requiredAccess('GET', '/v2/tags/tags/list'), repository('tags', 'pull'))
  assert.deepEqual(requiredAccess('GET', '/v2/referrers/referrers/sha256:x'), repository('referrers', 'pull'))
  // No route: nothing needed (answered 404 or 405, naming nothing).
  assert.deepEqual(requiredAccess('POST', '/v2/a/manifests/1'), { kind: 'none' })
  assert.deepEqual(requiredAccess('GET', '/elsewhere'), { kind: 'none' })
})
