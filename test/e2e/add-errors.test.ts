import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, fixturesDir, loadFixtures, tempDir, type Fixtures } from '../helpers/paths.js'
import { snapshot } from '../helpers/tree.js'

describe('zreg add refuses bad input and leaves the store unchanged', () => {
  let fixtures: Fixtures
  let store: string
  before(async () => {
    fixtures = await loadFixtures()
    store = join(await tempDir('bad'), 'store')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', store])
  })

  const expectations: Record<string, string> = {
    'corrupt-blob': 'DIGEST_INVALID',
    'wrong-size': 'SIZE_INVALID',
    'missing-layer': 'MANIFEST_BLOB_UNKNOWN',
    'invalid-manifest': 'MANIFEST_INVALID',
    'invalid-config': 'CONFIG_INVALID',
    truncated: 'ARCHIVE_INVALID',
    'tar-slip': 'UNSAFE_PATH',
    'docker-bad-diffid': 'DIGEST_INVALID',
  }

  async function refused(args: string[], code: string, exitCode: number): Promise<void> {
    const before = await snapshot(store)
    const index = await readFile(join(store, 'index.json'), 'utf8')
    const result = await zreg(['add', ...args, '--store', store, '--json'])
    assert.equal(result.exitCode, exitCode, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, code, args.join(' '))
    assert.deepEqual(await snapshot(store), before, `${args.join(' ')} left the store as it was`)
    assert.equal(await readFile(join(store, 'index.json'), 'utf8'), index)
  }

  test('every broken fixture gets its own error code and exit code 4', async () => {
    for (const [name, code] of Object.entries(expectations)) {
      const source = fixtures.badSources[name]
      assert.ok(source, name)
      await refused([absoluteSource(source)], code, 4)
    }
  })

  test('invalid names, tags, sources and platforms', async () => {
    const single = absoluteSource('oci:oci-layout:fixtures/single:1.0')
    await refused([single, '--name', 'Upper/Case:1'], 'NAME_INVALID', 4)
    await refused([single, '--name', 'ok:bad!tag'], 'TAG_INVALID', 4)
    await refused(['ftp:somewhere'], 'SOURCE_INVALID', 2)
    await refused([`oci:${join(fixturesDir, 'nope')}`], 'SOURCE_NOT_FOUND', 3)
    await refused([`docker-archive:${join(fixturesDir, 'nope.tar')}`], 'SOURCE_NOT_FOUND', 3)
    await refused([absoluteSource('oci:oci-layout:no-such-ref')], 'SOURCE_NOT_FOUND', 3)
    await refused([absoluteSource('oci:oci-layout:fixtures/multi-arch:1.0'), '--platform', 'windows/amd64'], 'PLATFORM_UNKNOWN', 3)
    // docker-archive layers start converting before the config is checked: its error must still be the one reported.
    await refused([`docker-archive:${join(fixturesDir, 'docker-old.tar')}`, '--platform', 'linux/s390x'], 'PLATFORM_UNKNOWN', 3)
    await refused([absoluteSource('oci-archive:single.oci.tar:1.0')], 'NAME_INVALID', 4)
    await refused([`oci:${join(fixturesDir, 'oci-layout')}`, '--name', 'one:tag'], 'SOURCE_AMBIGUOUS', 2)
    // --name REPO keeps each image's tag: images that share one would overwrite each other.
    await refused([`oci:${join(fixturesDir, 'oci-layout')}`, '--name', 'one'], 'SOURCE_AMBIGUOUS', 2)
  })

  test('a blob the store already holds must still match the declared size', async () => {
    const single = fixtures.images.find((image) => image.id === 'oci/single')!
    const dir = join(await tempDir('size'), 'layout')
    await cp(join(fixturesDir, 'oci-layout'), dir, { recursive: true })
    const manifest = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', single.digest!.slice(7)), 'utf8')) as { layers: { size: number }[] }
    manifest.layers[0]!.size += 1
    const bytes = Buffer.from(JSON.stringify(manifest))
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes)
    const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'lies/about:size' } }
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }))
    await refused([`oci:${dir}`], 'SIZE_INVALID', 4)
  })

  test('a source given to the wrong transport, or mistyped, is told what to write instead', async () => {
    const message = async (args: string[], code: string, exitCode: number): Promise<string> => {
      await refused(args, code, exitCode)
      const result = await zreg(['add', ...args, '--store', store])
      assert.doesNotMatch(result.stderr, /umoci|zreg inspect|scratch|\.staging|truncated/, `${args.join(' ')} names nothing that does not apply`)
      return result.stderr
    }
    const ociArchive = join(fixturesDir, 'single.oci.tar')
    const dockerArchive = join(fixturesDir, 'docker-old.tar')
    assert.match(await message([`docker-archive:${ociArchive}`], 'SOURCE_INVALID', 2), new RegExp(`is an OCI archive.*add it as oci-archive:${ociArchive}`))
    assert.match(await message([`oci-archive:${dockerArchive}`], 'SOURCE_INVALID', 2), new RegExp(`is a docker-archive.*add it as docker-archive:${dockerArchive}`))
    assert.match(await message([`oci:${join(fixturesDir, 'missing')}`], 'SOURCE_NOT_FOUND', 3), /no such directory: /)
    assert.match(await message([`oci:${dockerArchive}`], 'SOURCE_INVALID', 2), /is a file, not a layout directory; for an archive, write oci-archive:/)
    assert.match(await message([`oci-archive:${fixturesDir}`], 'SOURCE_INVALID', 2), /is a directory, not an archive; for a layout directory, write oci:/)
    assert.match(await message([`docker-archive:${dockerArchive}@1`], 'SOURCE_NOT_FOUND', 3), new RegExp(`write docker-archive:${dockerArchive}:@1`))
    await message([absoluteSource('oci:oci-layout:fixtures/multi-arch:1.0'), '--platform', 'windows/amd64'], 'PLATFORM_UNKNOWN', 3)
    await message([absoluteSource('oci:oci-layout:no-such-ref')], 'SOURCE_NOT_FOUND', 3)
  })

  test('the error says what to do next', async () => {
    const result = await zreg(['add', absoluteSource(fixtures.badSources['tar-slip']!), '--store', store])
    assert.match(result.stderr, /points outside the archive|is a link/)
    assert.match(result.stderr, /Do not trust this archive/)
  })
})
