import assert from 'node:assert/strict'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zregOk } from '../helpers/cli.js'
import { absoluteSource, fixturesDir, loadFixtures, tempDir, type Fixtures } from '../helpers/paths.js'
import { skopeoJson } from '../helpers/skopeo.js'

describe('the store is an OCI layout other tools read', () => {
  let fixtures: Fixtures
  before(async () => {
    fixtures = await loadFixtures()
  })

  test('umoci and skopeo read what zreg add wrote, with the source digests', async () => {
    const store = join(await tempDir('store'), 'store')
    await zregOk(['add', `oci:${join(fixturesDir, 'oci-layout')}`, '--store', store])
    const listed = (await execa('umoci', ['ls', '--layout', store])).stdout.split('\n').sort()
    assert.ok(listed.includes('fixtures/single:1.0') && listed.includes('fixtures/multi-arch:1.0'), listed.join(','))
    const single = fixtures.images.find((image) => image.id === 'oci/single')!
    const raw = (await execa('skopeo', ['inspect', '--raw', `oci:${store}:fixtures/single:1.0`])).stdout
    assert.equal(`sha256:${(await import('node:crypto')).createHash('sha256').update(raw).digest('hex')}`, single.digest)
    const inspected = (await skopeoJson(['inspect', `oci:${store}:fixtures/multi-layer:1.0`])) as { Layers: string[] }
    assert.equal(inspected.Layers.length, 3)
    await execa('skopeo', ['copy', '--all', `oci:${store}:fixtures/multi-arch:1.0`, `oci:${await tempDir('copy')}:x`])
  })

  test('--platform keeps one platform of an index', async () => {
    const store = join(await tempDir('platform'), 'store')
    const result = await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-arch:1.0'), '--platform', 'linux/arm64', '--name', 'arm:only', '--store', store, '--json'])
    const added = (JSON.parse(result.stdout) as { images: { digest: string; mediaType: string }[] }).images
    assert.equal(added[0]!.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    const inspect = JSON.parse((await zregOk(['inspect', 'arm:only', '--store', store, '--json'])).stdout) as { images: { platform: string }[] }
    assert.deepEqual(inspect.images.map((image) => image.platform), ['linux/arm64/v8'])
  })

  test('docker-archive conversion is deterministic and keeps the image ID', async () => {
    const digests: string[] = []
    for (const run of [1, 2]) {
      const store = join(await tempDir(`docker-${run}`), 'store')
      const result = await zregOk(['add', absoluteSource('docker-archive:docker-old.tar'), '--store', store, '--json'])
      const added = (JSON.parse(result.stdout) as { images: { repository: string; tag: string; digest: string }[] }).images
      assert.deepEqual(added.map((image) => `${image.repository}:${image.tag}`), ['dockerold/app:1.0', 'dockerold/tool:2.0', 'dockerold/tool:latest'])
      digests.push(added.map((image) => image.digest).join(','))
      const inspect = JSON.parse((await zregOk(['inspect', 'dockerold/app:1.0', '--store', store, '--json'])).stdout) as { images: { config: { digest: string } }[] }
      const expected = fixtures.images.find((image) => image.name === 'dockerold/app:1.0')!.configDigest
      assert.equal(inspect.images[0]!.config.digest, expected)
    }
    assert.equal(digests[0], digests[1])
    const store = join(await tempDir('docker-at'), 'store')
    const byIndex = JSON.parse((await zregOk(['add', absoluteSource('docker-archive:docker-old.tar:@1'), '--store', store, '--json'])).stdout) as { images: { tag: string }[] }
    assert.deepEqual(byIndex.images.map((image) => image.tag), ['2.0', 'latest'])
  })

  test('two zreg add runs into one store at the same time both succeed', async () => {
    const store = join(await tempDir('concurrent'), 'store')
    await Promise.all([
      zregOk(['add', `oci:${join(fixturesDir, 'oci-layout')}`, '--store', store]),
      zregOk(['add', absoluteSource('docker-archive:docker-old.tar'), '--store', store]),
      zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', 'copy/single', '--store', store]),
    ])
    const listing = JSON.parse((await zregOk(['ls', '--store', store, '--json'])).stdout) as { repositories: { name: string }[] }
    const names = listing.repositories.map((repository) => repository.name)
    for (const name of ['fixtures/single', 'dockerold/app', 'dockerold/tool', 'copy/single']) assert.ok(names.includes(name), name)
    await execa('umoci', ['ls', '--layout', store])
  })
})
