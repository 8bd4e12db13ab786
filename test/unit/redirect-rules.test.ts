import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileRedirectRules, parseRedirectFlag } from '../../src/build/redirect-rules.js'
import type { Digest } from '../../src/oci/digest.js'
import { ZregError } from '../../src/errors.js'

const layer = 'application/vnd.oci.image.layer.v1.tar+gzip'
const blob = (hex: string, size = 10, mediaType = layer) => ({ digest: `sha256:${hex.padEnd(64, '0')}` as Digest, size, mediaType })

test('a repository glob: * stays within a component, ** crosses them, ? is one character', () => {
  const rules = compileRedirectRules([{ repository: 'team/*', to: 'https://cdn/{hex}' }, { repository: 'deep/**', to: 'https://deep/{hex}' }, { repository: 'v?/app', to: 'https://v/{hex}' }], 'redirects')
  assert.equal(rules.redirectOf('team/app', blob('a'))?.location, `https://cdn/${'a'.padEnd(64, '0')}`)
  assert.equal(rules.redirectOf('team/app/sub', blob('a')), undefined)
  assert.equal(rules.redirectOf('deep/a/b/c', blob('a'))?.location.startsWith('https://deep/'), true)
  assert.equal(rules.redirectOf('v1/app', blob('a'))?.location.startsWith('https://v/'), true)
  assert.equal(rules.redirectOf('v12/app', blob('a')), undefined)
  assert.equal(rules.redirectOf('other', blob('a')), undefined)
})

test('media types and a minimum size narrow a rule; the first rule that matches wins', () => {
  const rules = compileRedirectRules(
    [
      { mediaTypes: ['application/vnd.oci.image.layer.*'], minSize: 100, to: 'https://big/{algorithm}/{hex}', status: 302 },
      { repository: 'small/**', to: 'https://small/{digest}' },
    ],
    'redirects',
  )
  assert.deepEqual(rules.redirectOf('any', blob('b', 100)), { status: 302, location: `https://big/sha256/${'b'.padEnd(64, '0')}` })
  assert.equal(rules.redirectOf('any', blob('b', 99)), undefined)
  assert.equal(rules.redirectOf('any', blob('b', 1000, 'application/vnd.oci.image.config.v1+json')), undefined)
  assert.deepEqual(rules.redirectOf('small/x', blob('b', 1)), { status: 307, location: `https://small/sha256:${'b'.padEnd(64, '0')}` })
})

test('several mirrors: each digest always to the same one (by its first 32 bits), or all to the first', () => {
  const to = ['https://m0/{hex}', 'https://m1/{hex}', 'https://m2/{hex}']
  const hashed = compileRedirectRules([{ to, repository: 'r' }], 'redirects')
  assert.equal(hashed.redirectOf('r', blob('00000003'))?.location.startsWith('https://m0/'), true)
  assert.equal(hashed.redirectOf('r', blob('00000004'))?.location.startsWith('https://m1/'), true)
  assert.equal(hashed.redirectOf('r', blob('00000005'))?.location.startsWith('https://m2/'), true)
  const first = compileRedirectRules([{ to, choose: 'first' }], 'redirects')
  assert.equal(first.redirectOf('r', blob('00000005'))?.location.startsWith('https://m0/'), true)
  const named = compileRedirectRules([{ to: 'https://cdn/{repository}/{algorithm}/{hex}' }], 'redirects')
  assert.equal(named.redirectOf('team/app', blob('c'))?.location, `https://cdn/team/app/sha256/${'c'.padEnd(64, '0')}`)
})

test('rules that cannot work are refused with REDIRECT_INVALID, naming where', () => {
  const refused = (rule: Parameters<typeof compileRedirectRules>[0][0], pattern: RegExp) =>
    assert.throws(
      () => compileRedirectRules([rule], 'redirects in zreg.json'),
      (error: unknown) => error instanceof ZregError && error.code === 'REDIRECT_INVALID' && /redirects in zreg\.json\[0\]/.test(error.message) && pattern.test(error.message),
    )
  refused({ to: 'ftp://cdn/{hex}' }, /absolute http\(s\) URL/)
  refused({ to: 'https://cdn/{hex}?a=$b' }, /absolute http\(s\) URL/)
  refused({ to: 'https://cdn/{hex}"' }, /absolute http\(s\) URL/)
  refused({ to: 'https://cdn/{hex} x' }, /absolute http\(s\) URL/)
  refused({ to: 'https://cdn/{hex}%zz' }, /%XX/)
  refused({ to: 'https://cdn/{sha}' }, /\{sha\} is no placeholder/)
  refused({ to: 'https://cdn/blobs' }, /needs \{hex\} or \{digest\}/)
  refused({ to: 'https://user:pass@cdn/{hex}' }, /credentials/)
  refused({ to: [] }, /names no URL/)
  refused({ to: 'https://cdn/{hex}', repository: 'Team/*' }, /no glob/)
  refused({ to: 'https://cdn/{hex}', status: 303 as never }, /status 303/)
  refused({ to: 'https://cdn/{hex}', choose: 'random' as never }, /hash or first/)
  refused({ to: 'https://cdn/{hex}', minSize: -1 }, /minSize/)
  assert.throws(() => parseRedirectFlag('https://cdn/{hex}'), /PATTERN=URL_TEMPLATE/)
  assert.deepEqual(parseRedirectFlag('team/*=https://a/{hex},https://b/{hex}'), { repository: 'team/*', to: ['https://a/{hex}', 'https://b/{hex}'] })
})
