import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { canRunDockerd, startDockerd } from '../helpers/dockerd.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { makeLargeImage } from '../helpers/large-image.js'
import { startReferenceRegistry } from '../helpers/reference-registry.js'
import { skopeoJson } from '../helpers/skopeo.js'

/** The digest of the manifest skopeo reads from `source`, exactly as stored there. */
async function manifestDigest(source: string, flags: string[] = []): Promise<string> {
  const { stdout } = await execa('skopeo', ['inspect', '--raw', ...flags, source], { encoding: 'buffer' })
  return sha256Of(stdout)
}

const sha256Of = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/**
 * zreg export writes what the tools read: skopeo reads the layout and both archives with the digests the
 * store holds, zreg add reads them back, and docker load (a private dockerd) loads the docker-archive.
 */
describe('zreg export: an image back out of the store', () => {
  let dir: string
  let store: string[]
  let image: (id: string) => FixtureImage

  before(async () => {
    dir = await tempDir('export')
    const fixtures = await loadFixtures()
    image = (id) => fixtures.images.find((candidate) => candidate.id === id)!
    store = ['--store', join(dir, 'store')]
    await zregOk(['add', absoluteSource(image('oci/single').source), '--name', 'team/app:1', ...store])
    await zregOk(['add', absoluteSource(image('oci/multi-arch').source), '--name', 'team/app:multi', ...store])
  })

  test('oci: a new layout, then another image added to it; zreg add reads it back', async () => {
    const layout = join(dir, 'layout')
    await zregOk(['export', 'team/app:1', `oci:${layout}`, ...store])
    await zregOk(['export', `team/app@${image('oci/multi-arch').digest}`, `oci:${layout}:multi`, ...store])
    assert.equal(await manifestDigest(`oci:${layout}:team/app:1`), image('oci/single').digest)
    assert.equal(await manifestDigest(`oci:${layout}:multi`), image('oci/multi-arch').digest)
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: unknown[] }
    assert.equal(index.manifests.length, 2)
    const back = ['--store', join(dir, 'back')]
    await zregOk(['add', `oci:${layout}:multi`, '--name', 'again/app:1', ...back])
    await zregOk(['verify', ...back])
    const listed = JSON.parse((await zregOk(['ls', ...back, '--json'])).stdout) as { repositories: { tags: { digest: string }[] }[] }
    assert.equal(listed.repositories[0]!.tags[0]!.digest, image('oci/multi-arch').digest)
  })

  test('oci-archive: every platform of an index; skopeo copies it whole', async () => {
    const archive = join(dir, 'multi.tar')
    const result = JSON.parse((await zregOk(['export', 'team/app:multi', `oci-archive:${archive}`, ...store, '--json'])).stdout) as { digest: string; blobs: number }
    assert.equal(result.digest, image('oci/multi-arch').digest)
    assert.equal(await manifestDigest(`oci-archive:${archive}`), image('oci/multi-arch').digest)
    await execa('skopeo', ['copy', '--all', `oci-archive:${archive}`, `dir:${join(dir, 'copied')}`])
  })

  test('docker-archive: one platform, named as asked; skopeo reads it, docker load loads it', { skip: canRunDockerd ? false : 'dockerd needs root' }, async () => {
    const archive = join(dir, 'docker.tar')
    const result = JSON.parse((await zregOk(['export', 'team/app:multi', `docker-archive:${archive}:example/app:1`, '--platform', 'linux/arm64', ...store, '--json'])).stdout) as { digest: string }
    const index = JSON.parse(await readFile(join(dir, 'store', 'blobs', ...image('oci/multi-arch').digest!.split(':')), 'utf8')) as { manifests: { digest: string; platform?: { architecture: string } }[] }
    assert.equal(result.digest, index.manifests.find((child) => child.platform?.architecture === 'arm64')!.digest)
    const inspected = (await skopeoJson(['inspect', `docker-archive:${archive}`])) as { Architecture: string }
    assert.equal(inspected.Architecture, 'arm64')
    const engine = await startDockerd(await tempDir('dockerd'))
    try {
      const loaded = await execa('docker', ['load', '-i', archive], { env: engine.env })
      assert.match(loaded.stdout, /Loaded image: example\/app:1/)
      const config = JSON.parse((await execa('skopeo', ['inspect', '--raw', `docker-archive:${archive}`])).stdout) as { config: { digest: string } }
      assert.equal((await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', 'example/app:1'], { env: engine.env })).stdout.trim(), config.config.digest)
    } finally {
      await engine.stop()
    }
  })

  test('an image the store lacks, a platform an index lacks, a destination that is no layout, a malformed registry name: clear errors', async () => {
    const missing = await zreg(['export', 'team/app:nope', `oci:${join(dir, 'x')}`, ...store])
    assert.equal(missing.exitCode, 3)
    assert.match(missing.stderr, /team\/app:nope is not in the store/)
    const platform = await zreg(['export', 'team/app:multi', `docker-archive:${join(dir, 'p.tar')}`, '--platform', 'windows/amd64', ...store])
    assert.equal(platform.exitCode, 3)
    assert.match(platform.stderr, /has no image for windows\/amd64 \(it has/)
    const notLayout = join(dir, 'not-layout')
    await execa('mkdir', ['-p', notLayout])
    await execa('touch', [join(notLayout, 'file')])
    const refused = await zreg(['export', 'team/app:1', `oci:${notLayout}`, ...store])
    assert.equal(refused.exitCode, 5)
    const malformed = await zreg(['export', 'team/app:1', 'docker://127.0.0.1:5000/App:1', ...store])
    assert.equal(malformed.exitCode, 2)
    assert.match(malformed.stderr, /must be lowercase/)
  })

  test('docker://: a push to the reference registry; another repository mounts; a large blob goes up in chunks; with auth', async () => {
    interface Pushed {
      digest: string
      push: { uploaded: number; mounted: number; existing: number; bytes: number }
    }
    const registry = await startReferenceRegistry()
    const secured = await startReferenceRegistry({ users: [{ username: 'pusher', password: 's3cret' }] })
    try {
      const multi = image('oci/multi-arch')
      const first = JSON.parse((await zregOk(['export', 'team/app:multi', `docker://${registry.authority}/team/app:multi`, ...store, '--json'])).stdout) as Pushed
      assert.equal(first.digest, multi.digest)
      assert.ok(first.push.uploaded >= 4 && first.push.mounted === 0 && first.push.existing === 0, JSON.stringify(first.push))
      assert.equal(await manifestDigest(`docker://${registry.authority}/team/app:multi`, ['--tls-verify=false']), multi.digest)
      await execa('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${registry.authority}/team/app:multi`, `dir:${join(dir, 'pulled-multi')}`])
      // Another repository of the same registry: every blob is mounted from team/app, none sent again.
      const mounted = JSON.parse((await zregOk(['export', 'team/app:multi', `docker://${registry.authority}/other/app:1`, ...store, '--json'])).stdout) as Pushed
      assert.deepEqual([mounted.push.uploaded, mounted.push.mounted], [0, first.push.uploaded])
      const again = JSON.parse((await zregOk(['export', 'team/app:multi', `docker://${registry.authority}/other/app:1`, ...store, '--json'])).stdout) as Pushed
      assert.deepEqual([again.push.uploaded, again.push.mounted, again.push.existing], [0, 0, first.push.uploaded])
      // 40 MiB: three chunks and the closing PUT.
      const large = await makeLargeImage(await tempDir('export-large'), 40 * 1024 * 1024)
      await zregOk(['add', `oci:${large.layout}:${large.ref}`, ...store])
      const big = JSON.parse((await zregOk(['export', large.ref, `docker://${registry.authority}/big/blob:1`, ...store, '--json'])).stdout) as Pushed
      assert.equal(big.push.bytes > 40 * 1024 * 1024, true)
      assert.equal(await manifestDigest(`docker://${registry.authority}/big/blob:1`, ['--tls-verify=false']), large.manifestDigest)
      const into = join(dir, 'pulled-big')
      await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.authority}/big/blob:1`, `dir:${into}`])
      assert.equal(sha256Of(await readFile(join(into, large.layer.digest.slice(7)))), large.layer.digest)
      // A registry that wants a login: refused without credentials, pushed with them.
      const refused = await zreg(['export', 'team/app:1', `docker://${secured.authority}/team/app:1`, ...store], { env: { REGISTRY_AUTH_FILE: join(dir, 'none.json'), ZREG_CREDS: '' } })
      assert.equal(refused.exitCode, 5, refused.stderr)
      await zregOk(['export', 'team/app:1', `docker://${secured.authority}/team/app:1`, '--creds', 'pusher:s3cret', ...store])
      assert.equal(await manifestDigest(`docker://${secured.authority}/team/app:1`, ['--tls-verify=false', '--creds', 'pusher:s3cret']), image('oci/single').digest)
    } finally {
      await registry.stop()
      await secured.stop()
    }
  })
})
