import assert from 'node:assert/strict'
import { test } from 'node:test'
import { planRepository, planSite, type RepositoryEntry } from '../../src/build/plan.js'
import type { ManifestSummary, RepositoryModel } from '../../src/build/site-model.js'
import type { Digest } from '../../src/oci/digest.js'

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest
const image = (c: string, layers: string[], extra: Partial<ManifestSummary> = {}): ManifestSummary => ({
  digest: d(c),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  kind: 'image',
  references: [{ mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 5 }, ...layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(l), size: 7 }))],
  ...extra,
})
const repo = (name: string, tags: [string, ManifestSummary][], more: ManifestSummary[] = []): RepositoryModel => ({
  name,
  tags: new Map(tags.map(([tag, summary]) => [tag, summary.digest])),
  added: new Map(),
  sources: new Map(),
  manifests: new Map([...tags.map(([, s]) => s), ...more].map((s) => [s.digest, s])),
})
const options = { defaultPlatform: { os: 'linux', architecture: 'amd64' }, cacheMaxAge: 60 }
const entry = (model: RepositoryModel): RepositoryEntry => ({ name: model.name, input: `input-${model.name}`, key: planRepository(model, options).key })

test('a repository plans tags, manifests by tag and digest, its blobs and referrers', () => {
  const a = image('a', ['1', '2'])
  const sbom = image('b', ['3'], { subject: { mediaType: a.mediaType, digest: a.digest, size: 100 }, artifactType: 'application/x.sbom' })
  const model = repo('app', [['v2', a], ['v1', a]], [sbom])
  const plan = planSite([entry(model)], options)
  const files = planRepository(model, options).files
  const paths = files.map((file) => file.path)
  assert.deepEqual(paths, ['tags/list', 'manifests/v1', 'manifests/v2', `manifests/${d('a')}`, `manifests/${d('b')}`, `blobs/${d('1')}`, `blobs/${d('2')}`, `blobs/${d('3')}`, `blobs/${d('c')}`, `referrers/${d('a')}`])
  assert.deepEqual(JSON.parse((files[0]!.source as { text: string }).text), { name: 'app', tags: ['v1', 'v2'] })
  assert.deepEqual(files[1]!.headers, { contentType: a.mediaType, digest: a.digest, length: 100 })
  const referrers = JSON.parse((files.at(-1)!.source as { text: string }).text) as { manifests: { digest: string; artifactType: string }[] }
  assert.deepEqual(referrers.manifests.map((m) => [m.digest, m.artifactType]), [[d('b'), 'application/x.sbom']])
  assert.deepEqual(plan.rootFiles.map((file) => file.path), ['v2/index.html', 'v2/_catalog'])
})

test('a tag naming an index records the default platform fallback (or none)', () => {
  const amd = image('a', ['1'])
  const index: ManifestSummary = {
    digest: d('f'),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 300,
    kind: 'index',
    references: [{ mediaType: amd.mediaType, digest: amd.digest, size: 100, platform: { os: 'linux', architecture: 'amd64' } }],
  }
  const model = repo('multi', [['1', index]], [amd])
  const tagged = planRepository(model, options).files.find((file) => file.path === 'manifests/1')!
  assert.equal(tagged.headers.platformFallback, `manifests/${amd.digest}`)
  const arm = planRepository(model, { defaultPlatform: { os: 'linux', architecture: 'arm64' } })
  assert.equal(arm.files.find((file) => file.path === 'manifests/1')!.headers.platformFallback, null)
})

test('plans are deterministic and keyed by content', () => {
  const a = image('a', ['1'])
  const first = planSite([entry(repo('x', [['1', a]])), entry(repo('y', [['1', a]]))], options)
  const second = planSite([entry(repo('y', [['1', a]])), entry(repo('x', [['1', a]]))], options)
  assert.equal(first.key, second.key)
  assert.deepEqual(first.repositories.map((r) => r.key), second.repositories.map((r) => r.key))
  const changed = planSite([entry(repo('x', [['1', a]])), entry(repo('y', [['2', a]]))], options)
  assert.equal(changed.repositories[0]!.key, first.repositories[0]!.key, 'an unchanged repository keeps its key')
  assert.notEqual(planSite([entry(repo('x', [['1', a]])), entry(repo('y', [['1', a]]))], { ...options, cacheMaxAge: 0 }).key, first.key, 'another cache max-age is another generation')
  assert.notEqual(changed.repositories[1]!.key, first.repositories[1]!.key)
})
