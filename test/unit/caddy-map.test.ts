import assert from 'node:assert/strict'
import { test } from 'node:test'
import { caddyMapFile } from '../../src/build/caddy.js'
import type { PlannedFile, RepositoryPlan } from '../../src/build/plan.js'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const manifest = (path: string, c: string, platformFallback?: string | null): PlannedFile => ({
  path,
  source: { text: '' },
  headers: { contentType: 'application/vnd.oci.image.index.v1+json', digest: digest(c), length: 1, ...(platformFallback === undefined ? {} : { platformFallback }) },
})

test('Caddy map lines: exact keys (tags equal but for case stay apart), the fallback as a URI, a path no tag can have when the index lacks the platform', () => {
  const plan: RepositoryPlan = {
    name: 'a.b/c',
    key: 'k',
    page: '',
    files: [manifest('manifests/v1', 'a', `manifests/${digest('b')}`), manifest('manifests/V1', 'b', null), manifest(`manifests/${digest('a')}`, 'a'), { ...manifest('tags/list', 'c'), path: 'tags/list' }],
  }
  const type = 'application/vnd.oci.image.index.v1+json'
  assert.deepEqual(caddyMapFile(plan).trim().split('\n'), [
    `"/v2/a.b/c/manifests/v1" "${type}|${digest('a')}|/v2/a.b/c/manifests/${digest('b')}"`,
    `"/v2/a.b/c/manifests/V1" "${type}|${digest('b')}|/v2/a.b/c/manifests/-"`,
    `"/v2/a.b/c/manifests/${digest('a')}" "${type}|${digest('a')}|"`,
  ])
})
