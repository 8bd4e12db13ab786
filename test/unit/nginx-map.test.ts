import assert from 'node:assert/strict'
import { test } from 'node:test'
import { nginxMapFile } from '../../src/build/nginx.js'
import type { PlannedFile, RepositoryPlan } from '../../src/build/plan.js'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const manifest = (path: string, c: string): PlannedFile => ({
  path,
  source: { text: '' },
  headers: { contentType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(c), length: 1 },
})

test('tags equal but for case get exact, case-sensitive regex keys; the others stay strings', () => {
  const plan: RepositoryPlan = {
    name: 'a.b/c',
    key: 'k',
    files: [manifest('manifests/v1.0-rc1', 'a'), manifest('manifests/v1.0-RC1', 'b'), manifest('manifests/Latest', 'a'), manifest(`manifests/${digest('a')}`, 'a')],
    page: '',
  }
  assert.deepEqual(nginxMapFile(plan).trim().split('\n'), [
    `"~^/v2/a\\.b/c/manifests/v1\\.0-rc1$" "oci-manifest|${digest('a')}|";`,
    `"~^/v2/a\\.b/c/manifests/v1\\.0-RC1$" "oci-manifest|${digest('b')}|";`,
    `"/v2/a.b/c/manifests/Latest" "oci-manifest|${digest('a')}|";`,
    `"/v2/a.b/c/manifests/${digest('a')}" "oci-manifest|${digest('a')}|";`,
  ])
})
