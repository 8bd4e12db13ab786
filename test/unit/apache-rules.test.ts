import assert from 'node:assert/strict'
import { test } from 'node:test'
import { acceptsPattern, apacheManifestRules } from '../../src/build/hosts/apache-manifest-rules.js'
import { apacheRoot } from '../../src/build/hosts/apache-site-rules.js'
import type { PlannedFile, RepositoryPlan } from '../../src/build/plan.js'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const index = 'application/vnd.oci.image.index.v1+json'
const file = (path: string, contentType: string, c: string, platformFallback?: string | null): PlannedFile => ({
  path,
  source: { text: '' },
  headers: { contentType, digest: digest(c), length: 1, ...(platformFallback === undefined ? {} : { platformFallback }) },
})

test('each manifest gets an exact, case-sensitive rule; an index tag falls back unless the client accepts it', () => {
  const plan: RepositoryPlan = {
    name: 'a.b/c',
    key: 'k',
    page: '',
    files: [
      file('tags/list', 'application/json', '0'),
      file('manifests/v1.0', index, 'a', `manifests/${digest('b')}`),
      file('manifests/Bare', index, 'c', null),
      file(`manifests/${digest('a')}`, index, 'a'),
      file(`blobs/${digest('d')}`, 'application/octet-stream', 'd'),
    ],
  }
  const lines = apacheManifestRules(plan).split('\n').filter((line) => line.startsWith('Rewrite'))
  assert.deepEqual(lines, [
    'RewriteEngine On',
    'RewriteCond %{REQUEST_URI} !^/v2/a\\.b/c/manifests/[^/]+$',
    'RewriteRule ^ - [S=5]',
    `RewriteCond %{HTTP:Accept} !${acceptsPattern(index)} [NC]`,
    `RewriteRule ^v1\\.0$ /v2/a.b/c/manifests/${digest('b')} [L]`,
    `RewriteRule ^v1\\.0$ - [T=${index},E=ZREG_DIGEST:${digest('a')},L]`,
    `RewriteCond %{HTTP:Accept} !${acceptsPattern(index)} [NC]`,
    'RewriteRule ^Bare$ - [E=ZREG_ERROR:MANIFEST_UNKNOWN,R=404]',
    `RewriteRule ^Bare$ - [T=${index},E=ZREG_DIGEST:${digest('c')},L]`,
    `RewriteRule ^${digest('a')}$ - [T=${index},E=ZREG_DIGEST:${digest('a')},L]`,
  ])
})

test('an Accept header admits an index only when it names that media type without q=0 (as zreg serve decides)', () => {
  const admits = new RegExp(acceptsPattern(index), 'i')
  const cases: [string, boolean][] = [
    [index, true],
    [`application/vnd.oci.image.manifest.v1+json, ${index}`, true],
    [`${index}; q=0.5, application/json`, true],
    [`APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON`, true],
    [`${index};q=0, application/vnd.oci.image.manifest.v1+json`, false],
    [`${index}; q=0.000`, false],
    [`${index};q=0.01`, true],
    ['application/vnd.oci.image.manifest.v1+json', false],
    ['*/*', false],
    [`${index}x`, false],
    ['application/vnd.oci.image.index.v1+jsonx, text/plain', false],
  ]
  for (const [accept, expected] of cases) assert.equal(admits.test(accept), expected, accept)
})

test('the deployed root must be absolute and free of what Apache and mod_rewrite would read as syntax', () => {
  assert.equal(apacheRoot('/srv/my registry/'), '/srv/my registry')
  assert.equal(apacheRoot('/'), '/')
  for (const root of ['srv/registry', '/srv/100%', '/srv/$HOME', '/srv/"x"', '/srv/a\nb', '/srv/a\\b']) {
    assert.throws(() => apacheRoot(root), (error: Error & { code?: string }) => error.code === 'USAGE' && /--root .* cannot be used in an Apache configuration/.test(error.message), root)
  }
})
