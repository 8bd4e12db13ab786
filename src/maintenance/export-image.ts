import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { ZregError } from '../errors.js'
import { refNameAnnotation } from '../oci/annotations.js'
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.js'
import { maxManifestBytes, parseManifest, referencedDescriptors, type Descriptor } from '../oci/manifest.js'
import { isDistributable, isManifest, MediaTypes } from '../oci/media-types.js'
import { formatPlatform, hostPlatform, platformMatches, type Platform } from '../oci/platform.js'
import { parseManifestReference, type ManifestReference } from '../oci/reference.js'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { connectRegistry, type RemoteOptions } from '../ingest/registry-source.js'
import { pushImage, type PushResult } from '../remote/push-image.js'
import { formatRemoteReference, parseRemoteReference, type RemoteReference } from '../remote/remote-reference.js'
import { matching } from '../store/ref-edits.js'
import type { LocalBlobPaths, RefReader } from '../store/store.js'

/** Where `zreg export` writes: skopeo's transports, with an optional name (`:REF`) for the image there, or a registry. */
export type ExportDestination = { transport: 'oci' | 'oci-archive' | 'docker-archive'; path: string; name?: string } | { transport: 'docker'; reference: RemoteReference }

/**
 * DEST as skopeo names it: `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `docker-archive:FILE[:NAME:TAG]`,
 * `docker://HOST/REPOSITORY[:TAG|@DIGEST]`. USAGE for anything else (a path holding a colon cannot be
 * named with a REF after it); SOURCE_INVALID for a malformed registry reference.
 */
export function parseExportDestination(text: string): ExportDestination {
  if (text.startsWith('docker://')) return { transport: 'docker', reference: parseRemoteReference(text.slice('docker://'.length)) }
  const match = /^(oci|oci-archive|docker-archive):([^:]+)(?::(.+))?$/.exec(text)
  if (match === null) throw new ZregError('USAGE', `DEST ${JSON.stringify(text)} is not oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] or docker://HOST/REPOSITORY[:TAG]`)
  return { transport: match[1] as 'oci' | 'oci-archive' | 'docker-archive', path: match[2]!, ...(match[3] === undefined ? {} : { name: match[3] }) }
}

export interface ExportResult {
  destination: string
  /** The manifest exported (for docker-archive: the platform's image manifest). */
  digest: string
  mediaType: string
  /** Blobs it consists of (manifests, configs, layers) and their bytes. */
  blobs: number
  bytes: number
  /** docker://: what was sent, mounted, and found there already. */
  push?: PushResult
}

type Blob = Descriptor & { path: string }

/** The manifests, configs and layers `root` reaches, each once, in the store (foreign layers without bytes left out). */
async function closure(store: RefReader & LocalBlobPaths, root: Descriptor): Promise<Blob[]> {
  const found = new Map<string, Blob>()
  const pending = [root]
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (found.has(next.digest)) continue
    if ((await store.blobStat(next.digest)) === undefined) {
      if (!isDistributable(next.mediaType)) continue
      throw new ZregError('BLOB_UNKNOWN', `blob ${next.digest} of the image is not in the store; run zreg verify`)
    }
    found.set(next.digest, { ...next, path: store.blobPath(next.digest) })
    // A manifest that cannot be read fails the export: half an image is no image.
    if (isManifest(next.mediaType)) pending.push(...referencedDescriptors(parseManifest(await store.blobBytes(next.digest, maxManifestBytes), next.mediaType, { validate: false })))
  }
  return [...found.values()]
}

/** The image manifest of `platform` in an index (an image manifest is itself); PLATFORM_UNKNOWN naming those there are. */
async function imageFor(store: RefReader, descriptor: Descriptor, platform: Platform): Promise<Descriptor> {
  const parsed = parseManifest(await store.blobBytes(descriptor.digest, maxManifestBytes), descriptor.mediaType, { validate: false })
  if (parsed.kind === 'image') return descriptor
  const child = parsed.index.manifests.find((candidate) => platformMatches(platform, candidate.platform))
  if (child === undefined) {
    const there = parsed.index.manifests.flatMap((candidate) => (candidate.platform ? [formatPlatform(candidate.platform)] : [])).join(', ')
    throw new ZregError('PLATFORM_UNKNOWN', `${descriptor.digest} has no image for ${formatPlatform(platform)} (it has ${there}); give --platform`)
  }
  return imageFor(store, child, platform)
}

/** The blob path of a layout (`blobs/ALGORITHM/HEX`). */
const blobKey = (digest: Digest) => `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`

const layoutFile = `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`

/** An index.json naming `root` (as `name`, when there is one), after the entries of `existing` that keep other names. */
function indexJson(root: Descriptor, name: string | undefined, existing: Descriptor[] = []): string {
  const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size, ...(name === undefined ? {} : { annotations: { [refNameAnnotation]: name } }) }
  const kept = existing.filter((other) => name === undefined || other.annotations?.[refNameAnnotation] !== name).filter((other) => other.digest !== root.digest || other.annotations?.[refNameAnnotation] !== undefined)
  return `${JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [...kept, entry] }, null, 2)}\n`
}

/** Into an OCI layout directory (made, or added to when it is one): blobs first, each whole, then index.json by one rename. */
async function toLayout(dir: string, root: Descriptor, name: string | undefined, blobs: Blob[]): Promise<void> {
  const marker = join(dir, 'oci-layout')
  if (existsSync(dir) && !existsSync(marker) && (await readdir(dir)).length > 0) {
    throw new ZregError('OUTPUT_EXISTS', `${dir} holds something other than an OCI image layout; name a new or empty directory, or a layout`)
  }
  for (const blob of blobs) {
    const target = join(dir, blobKey(blob.digest))
    if ((await stat(target).catch(() => undefined))?.size === blob.size) continue
    await mkdir(join(target, '..'), { recursive: true })
    const temp = tempPathBeside(target)
    // A copy, never a link: what is done to the export must not reach the store.
    await copyFile(blob.path, temp)
    await rename(temp, target)
  }
  if (!existsSync(marker)) await writeFileAtomic(marker, layoutFile)
  const existing = existsSync(join(dir, 'index.json')) ? ((JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] }).manifests ?? []) : []
  await writeFileAtomic(join(dir, 'index.json'), indexJson(root, name, existing))
}

/**
 * Into a tar archive written beside `file` and renamed over it: the OCI layout of `root`, and for
 * docker-archive the manifest.json `docker load` reads (as Docker 25 and later save: config and layers
 * named by their blob paths; layers as stored, compressed, which `docker load` accepts).
 */
async function toArchive(file: string, root: Descriptor, name: string | undefined, blobs: Blob[], docker: { config: Digest; layers: Digest[] } | undefined): Promise<void> {
  const temp = tempPathBeside(file)
  const pack = tar.pack()
  const written = pipeline(pack, createWriteStream(temp, { flags: 'wx' }))
  try {
    const text = (entry: string, body: string) => new Promise<void>((resolve, reject) => pack.entry({ name: entry, mode: 0o644 }, body, (error) => (error ? reject(error) : resolve())))
    await text('oci-layout', layoutFile)
    await text('index.json', indexJson(root, name))
    for (const blob of blobs) {
      const entry = pack.entry({ name: blobKey(blob.digest), size: blob.size, mode: 0o644 })
      await pipeline(createReadStream(blob.path), entry)
    }
    if (docker !== undefined) {
      const repoTags = name === undefined ? [] : [name]
      await text('manifest.json', `${JSON.stringify([{ Config: blobKey(docker.config), RepoTags: repoTags, Layers: docker.layers.map(blobKey) }])}\n`)
    }
    pack.finalize()
    await written
    await rename(temp, file)
  } catch (error) {
    pack.destroy()
    await written.catch(() => undefined)
    await rm(temp, { force: true })
    throw error
  }
}

/**
 * Writes the image `source` names in the store to `destination`, as skopeo would: an OCI layout (a new
 * directory, or one added to), an oci-archive, or a docker-archive (one platform of an index:
 * `platform`, default this machine's; named `destination.name`, default the source's REPOSITORY:TAG).
 * Or pushes it (every platform) to a registry (push-image.ts; `remote`: credentials and TLS, as for
 * zreg add docker://), trying a mount from the source's repository name first. Every blob is verified
 * present first; files appear whole (temp and rename). MANIFEST_UNKNOWN for a source the store lacks,
 * PLATFORM_UNKNOWN, OUTPUT_EXISTS for a directory that is no layout, the registry client's errors.
 */
export async function exportImage(store: RefReader & LocalBlobPaths, source: ManifestReference | string, destination: ExportDestination, options: { platform?: Platform; remote?: RemoteOptions } = {}): Promise<ExportResult> {
  const from = typeof source === 'string' ? parseManifestReference(source, 'IMAGE') : source
  const found = matching(await store.refList(), from)[0]
  if (found === undefined) throw new ZregError('MANIFEST_UNKNOWN', `${from.repository}${from.reference.includes(':') ? '@' : ':'}${from.reference} is not in the store; zreg ls lists what is`)
  const sourceName = found.tag === undefined ? undefined : `${found.repository}:${found.tag}`
  let root: Descriptor = { mediaType: found.descriptor.mediaType, digest: found.descriptor.digest, size: found.descriptor.size }
  let docker: { config: Digest; layers: Digest[] } | undefined
  if (destination.transport === 'docker-archive') {
    root = await imageFor(store, root, options.platform ?? hostPlatform())
    const parsed = parseManifest(await store.blobBytes(root.digest, maxManifestBytes), root.mediaType, { validate: false })
    if (parsed.kind !== 'image') throw new ZregError('INTERNAL', 'an index where an image was chosen')
    docker = { config: parsed.manifest.config.digest, layers: parsed.manifest.layers.map((layer) => layer.digest) }
  }
  const blobs = await closure(store, root)
  const summary = { digest: root.digest, mediaType: root.mediaType, blobs: blobs.length, bytes: blobs.reduce((sum, blob) => sum + blob.size, 0) }
  if (destination.transport === 'docker') {
    const { reference } = destination
    const manifests = blobs.filter((blob) => isManifest(blob.mediaType))
    // Children before the index that names them: the closure lists the root first, then what it reaches.
    const ordered = [...manifests].reverse()
    const client = await connectRegistry(reference, options.remote ?? {})
    try {
      const push = await pushImage(
        client,
        reference.repository,
        reference.digest ?? reference.tag ?? found.tag ?? 'latest',
        blobs.filter((blob) => !manifests.includes(blob)),
        await Promise.all(ordered.map(async (blob) => ({ digest: blob.digest, mediaType: blob.mediaType, bytes: await readFile(blob.path) }))),
        { mountFrom: found.repository, ...(options.remote?.jobs === undefined ? {} : { jobs: options.remote.jobs }) },
      )
      return { destination: `docker://${formatRemoteReference(reference)}`, ...summary, push }
    } finally {
      await client.close()
    }
  }
  // Named as the store names it (REPOSITORY:TAG, which zreg add reads back), unless DEST gives a name.
  const name = destination.name ?? sourceName
  if (destination.transport === 'oci') await toLayout(destination.path, root, name, blobs)
  else await toArchive(destination.path, root, name, blobs, docker)
  return { destination: `${destination.transport}:${destination.path}`, ...summary }
}
