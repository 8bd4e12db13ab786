import assert from 'node:assert/strict'
import { test } from 'node:test'
import { authorizationParameter, basicCredentials } from '../../src/server/auth/authorization-header.js'

test('authorizationParameter: the scheme in any case, the rest trimmed; another scheme is undefined', () => {
  assert.equal(authorizationParameter('Basic YTpi', 'Basic'), 'YTpi')
  assert.equal(authorizationParameter('basic YTpi', 'Basic'), 'YTpi')
  assert.equal(authorizationParameter('BASIC   YTpi ', 'Basic'), 'YTpi')
  assert.equal(authorizationParameter('Basic', 'Basic'), '')
  assert.equal(authorizationParameter('Basic ', 'Basic'), '')
  assert.equal(authorizationParameter('bearer a.b.c', 'Bearer'), 'a.b.c')
  assert.equal(authorizationParameter('Bearer a.b.c', 'Basic'), undefined)
  assert.equal(authorizationParameter('Basically YTpi', 'Basic'), undefined)
  assert.equal(authorizationParameter('', 'Basic'), undefined)
  assert.deepEqual(basicCredentials(`basic ${Buffer.from('alice:pa:ss').toString('base64')}`), { user: 'alice', password: 'pa:ss' })
  assert.equal(basicCredentials(`Basic ${Buffer.from('no-colon').toString('base64')}`), undefined)
})
