import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReadPolicy, type AuthSettings } from '../../src/access/read-rules.js'
import { loginPaths } from '../../src/build/hosts/host-auth.js'
import { requiredAccess } from '../../src/server/auth/route-access.js'
import { deep } from '../helpers/adversarial-names.js'

const digest = `sha256:${'a'.repeat(64)}`
const routes = ['manifests/1', `manifests/${digest}`, `blobs/${digest}`, 'tags/list', `referrers/${digest}`, 'manifests/latest']
/** Names made of route words, nested in each other's paths, deep, long, or map keywords. */
const names = ['team', 'team/a', 'teams/a', 'team/a/b', 'team/manifests', 'team/manifests/blobs', 'manifests', 'blobs', 'tags', 'referrers', 'blobs/manifests/tags', 'base/img', 'base/img/manifests', 'a.b', 'aXb', 'x__y/dash-ed/under_score', deep, `${'l'.repeat(60)}/${'o'.repeat(60)}`, 'default', 'include']
const settings: AuthSettings[] = [
  { htpasswd: '-', read: 'anonymous', private: ['team/**'] },
  { htpasswd: '-', read: 'anonymous', private: ['team/*', 'a.b'] },
  { htpasswd: '-', read: 'anonymous', private: ['*/manifests', 'blobs/**'] },
  { htpasswd: '-', read: 'anonymous', private: ['**'] },
  { htpasswd: '-', read: 'anonymous' },
  { htpasswd: '-', read: 'authenticated' },
  { htpasswd: '-', read: 'authenticated', public: ['base/*', 'a.b'] },
  { htpasswd: '-', read: 'authenticated', public: ['**'], private: ['team/*'] },
  { htpasswd: '-', read: 'authenticated', public: ['team/**'], private: ['team/manifests/**'] },
]

test("the hosts' login paths close to anonymous clients exactly what zreg serve --auth does, for every kind of name", () => {
  for (const rules of settings) {
    const policy = new ReadPolicy(rules)
    const login = loginPaths(rules)
    const always = new RegExp(login.always)
    const members = login.members && new RegExp(login.members.paths)
    const except = login.members?.except === undefined ? undefined : new RegExp(login.members.except)
    const needsLogin = (path: string) => always.test(path) || (members !== undefined && members.test(path) && !except?.test(path))
    const what = JSON.stringify(rules)
    for (const name of names) {
      for (const route of routes) {
        const path = `/v2/${name}/${route}`
        assert.deepEqual(requiredAccess('GET', path), { kind: 'repository', name, action: 'pull' }, path)
        assert.equal(needsLogin(path), !policy.mayRead(undefined, name), `${what}: ${path}`)
      }
    }
    for (const ping of ['/v2/', '/v2']) assert.ok(needsLogin(ping), `${what}: ${ping}`)
    // A static catalog cannot be filtered: it needs a login as soon as anything does.
    for (const listing of ['/v2/_catalog', '/', '/index.html']) assert.equal(needsLogin(listing), !policy.anonymousReadsAll(), `${what}: ${listing}`)
  }
})
