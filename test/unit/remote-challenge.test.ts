import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseChallenges, type AuthChallenge } from '../../src/remote/auth-challenge.js'

test('WWW-Authenticate challenges: quoted strings, commas and escapes inside quotes, several challenges, any case', () => {
  const cases: [string | string[] | undefined, AuthChallenge[]][] = [
    [undefined, []],
    ['', []],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } }],
    ],
    [
      'Bearer realm="https://r.example/token", service="r.example", scope="repository:a/b:pull,push"',
      [{ scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example', scope: 'repository:a/b:pull,push' } }],
    ],
    ['BEARER Realm=https://x/token , Service=svc', [{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'svc' } }]],
    ['Basic realm="a \\"quoted\\" \\\\ realm, with comma"', [{ scheme: 'basic', params: { realm: 'a "quoted" \\ realm, with comma' } }]],
    [
      'Basic realm="basic", Bearer realm="https://t/token",service="s"',
      [
        { scheme: 'basic', params: { realm: 'basic' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
      ],
    ],
    [
      ['Negotiate', 'Bearer realm="https://t/token"'],
      [
        { scheme: 'negotiate', params: {} },
        { scheme: 'bearer', params: { realm: 'https://t/token' } },
      ],
    ],
    ['Negotiate abc123==, Basic realm="x"', [{ scheme: 'negotiate', params: {}, token68: 'abc123==' }, { scheme: 'basic', params: { realm: 'x' } }]],
    ['Bearer error="invalid_token",realm="https://t/token"', [{ scheme: 'bearer', params: { error: 'invalid_token', realm: 'https://t/token' } }]],
  ]
  for (const [header, expected] of cases) assert.deepEqual(parseChallenges(header), expected, String(header))
})
