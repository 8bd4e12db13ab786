import assert from 'node:assert/strict'
import { createReadStream, createWriteStream } from 'node:fs'
import { createCipheriv } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, test } from 'node:test'
import { createGzip } from 'node:zlib'
import { execa } from 'execa'
import tar from 'tar-stream'
import { readTarIndex } from '../../src/ingest/tar-index.js'
import { zreg, zregOk } from '../helpers/cli.js'
import { canRunDockerd, startDockerd, type PrivateDockerd } from '../helpers/dockerd.js'
import { fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { startZregServe } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'
import { snapshot } from '../helpers/tree.js'

/**
 * Archives written by the real tools (skopeo, podman, buildah, docker), not imitations: they use links
 * (`<id>/layer.tar -> ../<digest>.tar`), fully qualified RepoTags, PAX headers, uncompressed layers.
 */

interface Added {
  repository: string
  tag: string
  digest: string
  mediaType: string
}

interface StoredManifest {
  config: { digest: string; mediaType: string }
  layers: { digest: string; mediaType: string; size: number }[]
}

const layout = join(fixturesDir, 'oci-layout')

async function add(store: string, source: string, extra: string[] = []): Promise<Added[]> {
  const result = await zregOk(['add', source, '--store', store, '--json', ...extra])
  return (JSON.parse(result.stdout) as { images: Added[] }).images
}

async function storedManifest(store: string, digest: string): Promise<StoredManifest> {
  return JSON.parse(await readFile(join(store, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8')) as StoredManifest
}

async function verifyOk(store: string): Promise<void> {
  await zregOk(['verify', '--store', store])
}

/** The archive's link entries: proof that the tool wrote what this test is about. */
async function linksIn(archive: string): Promise<string[]> {
  return [...(await readTarIndex(archive, archive)).values()].filter((entry) => entry.type === 'symlink' || entry.type === 'link').map((entry) => entry.name)
}

type TarMember = { name: string; data?: Buffer; file?: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string }

/** Writes a tar with tar-stream, streaming file members from disk. */
async function writeTar(path: string, members: TarMember[]): Promise<void> {
  const pack = tar.pack()
  const done = pipeline(pack, createWriteStream(path))
  for (const member of members) {
    const type = member.type ?? 'file'
    if (member.file !== undefined) {
      const data = await readFile(member.file)
      await new Promise<void>((resolve, reject) => pack.entry({ name: member.name, size: data.length }, data, (error) => (error ? reject(error) : resolve())))
    } else {
      const header = { name: member.name, type, ...(member.linkname !== undefined ? { linkname: member.linkname } : {}) }
      await new Promise<void>((resolve, reject) => {
        const callback = (error?: Error | null) => (error ? reject(error) : resolve())
        if (type === 'file') pack.entry(header, member.data ?? Buffer.alloc(0), callback)
        else pack.entry(header, callback)
      })
    }
  }
  pack.finalize()
  await done
}

/**
 * Packs an OCI layout a real tool wrote (one image) as Docker >= 25's `docker save` does: the layout
 * plus a manifest.json naming the config and layers by blob path. A containerd-backed `docker save`
 * writes zstd layers this way; skopeo will not write a docker-archive holding zstd, so the test packs
 * skopeo's real zstd bytes into that format instead of inventing any.
 */
async function packDocker25(layoutDir: string, repoTag: string, archive: string): Promise<StoredManifest> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
  const blob = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`
  const manifest = JSON.parse(await readFile(join(layoutDir, blob(index.manifests[0]!.digest)), 'utf8')) as StoredManifest
  const members: TarMember[] = [
    { name: 'oci-layout', file: join(layoutDir, 'oci-layout') },
    { name: 'index.json', file: join(layoutDir, 'index.json') },
    { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: blob(manifest.config.digest), RepoTags: [repoTag], Layers: manifest.layers.map((layer) => blob(layer.digest)) }])) },
  ]
  for (const name of (await readdir(join(layoutDir, 'blobs', 'sha256'))).sort()) members.push({ name: `blobs/sha256/${name}`, file: join(layoutDir, 'blobs', 'sha256', name) })
  await writeTar(archive, members)
  return manifest
}

describe('zreg add reads the archives real tools write', () => {
  let dir: string
  let multi: FixtureImage
  let short: string
  before(async () => {
    dir = await tempDir('real-archives')
    multi = (await loadFixtures()).images.find((image) => image.id === 'oci/multi-layer')!
    // podman and buildah refuse a run root of over 50 characters.
    short = await mkdtemp(join(tmpdir(), 'zreg-ra-'))
  })
  after(async () => {
    await rm(short, { recursive: true, force: true })
  })

  test('skopeo docker-archive (layers linked from <id>/layer.tar): image ID kept, verify passes, skopeo pulls it back through zreg serve', async () => {
    const archive = join(dir, 'skopeo.docker.tar')
    await execa('skopeo', ['copy', '-q', `oci:${layout}:${multi.name}`, `docker-archive:${archive}:example/app:1`])
    assert.ok((await linksIn(archive)).some((name) => name.endsWith('/layer.tar')), 'skopeo links <id>/layer.tar')
    const store = join(dir, 'store-skopeo')
    const [image] = await add(store, `docker-archive:${archive}`)
    assert.equal(`${image!.repository}:${image!.tag}`, 'example/app:1', 'the fully qualified docker.io/example/app:1 is stored as docker save names it')
    assert.equal((await storedManifest(store, image!.digest)).config.digest, multi.configDigest)
    await verifyOk(store)

    const site = join(dir, 'site-skopeo')
    await zregOk(['build', '--store', store, '--out', site])
    const serve = await startZregServe(site)
    try {
      const pulled = await skopeoPull(`docker://${serve.authority}/example/app:1`, join(dir, 'pulled-skopeo'))
      assert.equal(pulled, image!.digest)
    } finally {
      await serve.stop()
    }

    // The same archive gzipped (`.tar.gz`) gives the same image.
    const gzipped = join(dir, 'skopeo.docker.tar.gz')
    await pipeline(createReadStream(archive), createGzip(), createWriteStream(gzipped))
    const [again] = await add(join(dir, 'store-gz'), `docker-archive:${gzipped}`)
    assert.equal(again!.digest, image!.digest)
  })

  test('skopeo oci-archive keeps the manifest digest', async () => {
    const archive = join(dir, 'skopeo.oci.tar')
    await execa('skopeo', ['copy', '-q', `oci:${layout}:${multi.name}`, `oci-archive:${archive}:1`])
    const store = join(dir, 'store-oci')
    const [image] = await add(store, `oci-archive:${archive}:1`, ['--name', 'example/oci'])
    assert.equal(image!.digest, multi.digest)
    await verifyOk(store)
  })

  test('an oci-archive whose blobs are links inside the archive is read through them', async () => {
    const source = join(dir, 'linked-layout')
    await execa('skopeo', ['copy', '-q', `oci:${layout}:${multi.name}`, `oci:${source}:1`])
    const manifest = await packDocker25(source, 'unused:1', join(dir, 'unused.tar'))
    const layer = manifest.layers[0]!.digest.slice('sha256:'.length)
    const members: TarMember[] = [
      { name: 'oci-layout', file: join(source, 'oci-layout') },
      { name: 'index.json', file: join(source, 'index.json') },
      { name: 'data/layer', file: join(source, 'blobs', 'sha256', layer) },
      { name: `blobs/sha256/${layer}`, type: 'symlink', linkname: '../../data/layer' },
    ]
    for (const name of await readdir(join(source, 'blobs', 'sha256'))) if (name !== layer) members.push({ name: `blobs/sha256/${name}`, file: join(source, 'blobs', 'sha256', name) })
    const archive = join(dir, 'linked.oci.tar')
    await writeTar(archive, members)
    const [image] = await add(join(dir, 'store-linked'), `oci-archive:${archive}:1`, ['--name', 'example/linked'])
    assert.equal(image!.digest, multi.digest)
  })

  test('podman save, default (docker-archive) and oci-archive formats', async () => {
    const podman = (args: string[]) => execa('podman', ['--root', join(short, 'podman'), '--runroot', join(short, 'podman-run'), '--storage-driver', 'vfs', ...args], { timeout: 120_000 })
    await podman(['pull', '-q', `oci:${layout}:${multi.name}`])
    await podman(['tag', multi.configDigest!.slice('sha256:'.length), 'example/podman:1'])
    const id = `sha256:${(await podman(['inspect', '--format', '{{.Id}}', 'example/podman:1'])).stdout.trim()}`
    assert.equal(id, multi.configDigest)
    const dockerArchive = join(dir, 'podman.docker.tar')
    const ociArchive = join(dir, 'podman.oci.tar')
    await podman(['save', '-o', dockerArchive, 'example/podman:1'])
    await podman(['save', '--format', 'oci-archive', '-o', ociArchive, 'example/podman:1'])
    assert.ok((await linksIn(dockerArchive)).length > 0, 'podman save links its layers')
    const store = join(dir, 'store-podman')
    const [fromDocker] = await add(store, `docker-archive:${dockerArchive}`)
    assert.equal(`${fromDocker!.repository}:${fromDocker!.tag}`, 'localhost/example/podman:1')
    assert.equal((await storedManifest(store, fromDocker!.digest)).config.digest, id)
    const [fromOci] = await add(store, `oci-archive:${ociArchive}`, ['--name', 'example/podman-oci:1'])
    assert.equal((await storedManifest(store, fromOci!.digest)).config.digest, id)
    await verifyOk(store)
  })

  test('buildah push docker-archive of an image built from scratch', async () => {
    const buildah = (args: string[]) => execa('buildah', ['--root', join(short, 'buildah'), '--runroot', join(short, 'buildah-run'), '--storage-driver', 'vfs', ...args], { timeout: 120_000 })
    const container = (await buildah(['from', 'scratch'])).stdout.trim()
    await writeFile(join(dir, 'hello.txt'), 'hello from buildah\n')
    await buildah(['copy', container, join(dir, 'hello.txt'), '/hello.txt'])
    await buildah(['commit', '-q', container, 'example/buildah:1'])
    const id = (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', 'example/buildah:1'])).stdout.trim()
    const archive = join(dir, 'buildah.docker.tar')
    await buildah(['push', '-q', 'example/buildah:1', `docker-archive:${archive}:example/buildah:1`])
    assert.ok((await linksIn(archive)).length > 0, 'buildah links its layers')
    const store = join(dir, 'store-buildah')
    const [image] = await add(store, `docker-archive:${archive}`)
    assert.equal((await storedManifest(store, image!.digest)).config.digest, `sha256:${id.replace(/^sha256:/, '')}`)
    await verifyOk(store)
  })

  test('zstd, gzip and uncompressed layers are told apart by their bytes', async () => {
    const zstdLayout = join(dir, 'zstd-layout')
    await execa('skopeo', ['copy', '-q', '--dest-compress', '--dest-compress-format', 'zstd', `oci:${layout}:${multi.name}`, `oci:${zstdLayout}:1`])
    const zstdArchive = join(dir, 'zstd.docker.tar')
    const zstdManifest = await packDocker25(zstdLayout, 'example/zstd:1', zstdArchive)
    assert.ok(zstdManifest.layers.every((layer) => layer.mediaType.endsWith('+zstd')), 'skopeo wrote zstd layers')

    // Docker schema2 (the default) cannot express zstd: a clear refusal, nothing stored.
    const store = join(dir, 'store-zstd')
    await add(store, `oci:${layout}:${multi.name}`, ['--name', 'keep/me:1'])
    const before = await snapshot(store)
    const refused = await zreg(['add', `docker-archive:${zstdArchive}`, '--store', store])
    assert.equal(refused.exitCode, 4, refused.stderr)
    assert.match(refused.stderr, /zstd-compressed.*Docker schema2.*--format oci/s)
    assert.deepEqual(await snapshot(store), before)

    // With --format oci the zstd bytes are kept, under the zstd media type.
    const [image] = await add(store, `docker-archive:${zstdArchive}`, ['--format', 'oci'])
    const stored = await storedManifest(store, image!.digest)
    assert.deepEqual(stored.layers.map((layer) => [layer.mediaType, layer.digest]), zstdManifest.layers.map((layer) => ['application/vnd.oci.image.layer.v1.tar+zstd', layer.digest]))
    assert.equal(stored.config.digest, multi.configDigest)

    // gzip layers in the same format keep their bytes too (the fixture layout's layers are gzip).
    const gzipLayout = join(dir, 'gzip-layout')
    await execa('skopeo', ['copy', '-q', `oci:${layout}:${multi.name}`, `oci:${gzipLayout}:1`])
    const gzipManifest = await packDocker25(gzipLayout, 'example/gzip:1', join(dir, 'gzip.docker.tar'))
    const [gzipImage] = await add(store, `docker-archive:${join(dir, 'gzip.docker.tar')}`)
    assert.deepEqual((await storedManifest(store, gzipImage!.digest)).layers.map((layer) => layer.digest), gzipManifest.layers.map((layer) => layer.digest))

    // Uncompressed layers (what skopeo's docker-archive holds) are gzipped, and checked against diff_ids.
    const plainArchive = join(dir, 'plain.docker.tar')
    await execa('skopeo', ['copy', '-q', `oci:${layout}:${multi.name}`, `docker-archive:${plainArchive}:example/plain:1`])
    const [plain] = await add(store, `docker-archive:${plainArchive}`, ['--format', 'oci'])
    assert.ok((await storedManifest(store, plain!.digest)).layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'))
    await verifyOk(store)
  })

  test('hostile links are refused and the store is left as it was', async () => {
    const store = join(dir, 'store-hostile')
    await add(store, `oci:${layout}:${multi.name}`, ['--name', 'keep/me:1'])
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)] } }))
    const base: TarMember[] = [
      { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile/app:1'], Layers: ['x/layer.tar'] }])) },
      { name: 'config.json', data: config },
    ]
    const cases: [string, TarMember[], string][] = [
      ['a link leaving the archive', [{ name: 'x/layer.tar', type: 'symlink', linkname: '../../outside.tar' }], 'UNSAFE_PATH'],
      ['an absolute link', [{ name: 'x/layer.tar', type: 'symlink', linkname: '/etc/passwd' }], 'UNSAFE_PATH'],
      ['a hard link leaving the archive', [{ name: 'x/layer.tar', type: 'link', linkname: '../outside.tar' }], 'UNSAFE_PATH'],
      ['a link loop', [{ name: 'x/layer.tar', type: 'symlink', linkname: '../y.tar' }, { name: 'y.tar', type: 'symlink', linkname: 'x/layer.tar' }], 'UNSAFE_PATH'],
      ['a link to a directory', [{ name: 'd', type: 'directory' }, { name: 'x/layer.tar', type: 'symlink', linkname: '../d' }], 'ARCHIVE_INVALID'],
      ['an unused link leaving the archive', [{ name: 'x/layer.tar', data: Buffer.alloc(0) }, { name: 'spare', type: 'symlink', linkname: '../../etc/shadow' }], 'UNSAFE_PATH'],
    ]
    const before = await snapshot(store)
    for (const [what, members, code] of cases) {
      const archive = join(dir, `hostile-${what.replace(/\W+/g, '-')}.tar`)
      await writeTar(archive, [...base, ...members])
      // Every link is checked when the archive is opened, whichever transport reads it.
      for (const transport of ['docker-archive', 'oci-archive']) {
        const result = await zreg(['add', `${transport}:${archive}`, '--store', store, '--json'])
        assert.equal(result.exitCode, 4, `${transport} ${what}: ${result.stdout}${result.stderr}`)
        assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, code, `${transport} ${what}`)
        assert.deepEqual(await snapshot(store), before, `${transport} ${what} left the store as it was`)
      }
    }
  })
})

describe('zreg add reads what docker save writes', { skip: canRunDockerd ? false : 'dockerd needs root' }, () => {
  let dir: string
  let engineDir: string
  let engine: PrivateDockerd
  const docker = (args: string[], options: { cwd?: string } = {}) => execa('docker', args, { env: { ...engine.env, DOCKER_BUILDKIT: '0' }, timeout: 300_000, ...options })

  before(async () => {
    dir = await tempDir('docker-save')
    engineDir = await mkdtemp(join(tmpdir(), 'zreg-ds-'))
    engine = await startDockerd(engineDir)
  })
  after(async () => {
    await engine?.stop()
    await rm(engineDir, { recursive: true, force: true })
  })

  test('docker save of an image with a repeated layer (linked in the classic format); docker pulls it back', async () => {
    const context = join(dir, 'context')
    await mkdir(context)
    // Over 1 MiB of noise then text: the layer gzips in several blocks, some stored, some compressed.
    const noise = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16)).update(Buffer.alloc(1536 * 1024))
    await writeFile(join(context, 'one.txt'), Buffer.concat([noise, Buffer.from('the same layer twice\n'.repeat(80_000))]))
    await writeFile(join(context, 'two.txt'), 'something else in between\n')
    await utimes(join(context, 'one.txt'), 1_000_000, 1_000_000)
    await utimes(join(context, 'two.txt'), 2_000_000, 2_000_000)
    // Layers 1 and 3 write the same file with the same bytes and times, so their tars are identical
    // (copying one file twice in a row would give an empty second layer, which docker drops).
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY one.txt /file.txt\nCOPY two.txt /file.txt\nCOPY one.txt /file.txt\n')
    await docker(['build', '-q', '-t', 'example/repeat:1', context])
    const id = (await docker(['inspect', '--format', '{{.Id}}', 'example/repeat:1'])).stdout.trim()
    const archive = join(dir, 'docker.tar')
    await docker(['save', '-o', archive, 'example/repeat:1'])
    assert.ok((await linksIn(archive)).length > 0, 'docker save links the repeated layer')
    const store = join(dir, 'store')
    const [image] = await add(store, `docker-archive:${archive}`)
    assert.equal(`${image!.repository}:${image!.tag}`, 'example/repeat:1')
    const manifest = await storedManifest(store, image!.digest)
    assert.equal(manifest.config.digest, id)
    assert.equal(manifest.layers.length, 3)
    assert.equal(manifest.layers[0]!.digest, manifest.layers[2]!.digest)
    await verifyOk(store)

    // docker pulls it back through zreg serve: it gunzips the layers zreg compressed and checks them against the diff_ids.
    const site = join(dir, 'site')
    await zregOk(['build', '--store', store, '--out', site])
    const serve = await startZregServe(site)
    try {
      await docker(['rmi', 'example/repeat:1'])
      const pulled = `${serve.authority}/example/repeat:1`
      await docker(['pull', '-q', pulled])
      assert.equal((await docker(['inspect', '--format', '{{.Id}}', pulled])).stdout.trim(), id)
    } finally {
      await serve.stop()
    }
  })
})
