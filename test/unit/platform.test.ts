import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatPlatform, parsePlatform, platformMatches } from '../../src/oci/platform.js'

test('platforms parse, print and match with implicit variants', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' })
  assert.equal(formatPlatform(parsePlatform('linux/amd64')), 'linux/amd64')
  assert.throws(() => parsePlatform('linux'))
  assert.throws(() => parsePlatform('linux/arm/'))
  assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }))
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }))
  assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm' }))
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }))
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), undefined))
})
