import { rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { PassThrough, Readable, Writable, type Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DigestCounter, digestOf, type Digest } from '../oci/digest.js'
import { maxManifestBytes, parseImageConfig, type Descriptor, type ImageConfig } from '../oci/manifest.js'
import { MediaTypes } from '../oci/media-types.js'
import { configPlatform, formatPlatform, platformMatches } from '../oci/platform.js'
import { systemError, ZregError } from '../errors.js'
import { hasStagedFiles, type PutBlobResult, type StagedFiles, type StoreStaging } from '../store/store.js'
import type { ImageSource, SourceImage, StoreImageOptions } from './image-source.js'
import { hasFileLocations, readHead, readSmallFile, type FileLocation, type FileTree } from './file-tree.js'
import { gzipFileRange } from './gzip-pool.js'
import { mapLimit } from './map-limit.js'
import { ParallelGzip } from './parallel-gzip.js'
import { digestTransform } from '../store/digest-transform.js'
import { compressionMagicLength, createDecompressor, detectCompression, type LayerCompression } from './layer-compression.js'
import { archiveReadBytes, safeEntryPath } from './tar-index.js'

/** One entry of a docker-archive's manifest.json. */
export interface DockerArchiveImage {
  config: string
  repoTags: string[]
  layers: string[]
}

export type ManifestFormat = 'docker' | 'oci'

/** The images manifest.json lists, with their paths checked to stay inside the archive. */
export async function readDockerArchiveManifest(tree: FileTree): Promise<DockerArchiveImage[]> {
  const bytes = await readSmallFile(tree, 'manifest.json', maxManifestBytes)
  if (bytes === undefined) throw new ZregError('ARCHIVE_INVALID', `${tree.name} has no manifest.json, so it is not a \`docker save\` archive`)
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw new ZregError('ARCHIVE_INVALID', `${tree.name}: manifest.json is not valid JSON: ${(error as Error).message}`)
  }
  if (!Array.isArray(json)) throw new ZregError('ARCHIVE_INVALID', `${tree.name}: manifest.json is not an array`)
  return json.map((entry: { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null, index) => {
    if (entry === null || typeof entry !== 'object' || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw new ZregError('ARCHIVE_INVALID', `${tree.name}: manifest.json entry ${index} lacks Config or Layers`)
    }
    const repoTags = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((t): t is string => typeof t === 'string') : []
    return { config: safeEntryPath(entry.Config), repoTags, layers: (entry.Layers as string[]).map(safeEntryPath) }
  })
}

/** Docker names images by their familiar form (`alpine:3`); accept the fully qualified one too. */
export function familiarName(name: string): string {
  return name.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '')
}

/** What one stored layer came to: its blob, and the digest of its uncompressed tar (the diff_id). */
interface StoredLayer {
  put: PutBlobResult
  diffId: Digest
}

/**
 * Stores an already compressed layer byte for byte while decompressing a second copy of the same
 * chunks to compute its diff_id: one read of the archive, one write to the store, flat memory (each
 * chunk waits until both the store and the decompressor have taken it).
 */
async function putKeepingBytes(staging: StoreStaging, source: Readable, decompressor: Transform, what: string): Promise<StoredLayer> {
  const uncompressed = new DigestCounter()
  const toStore = new PassThrough()
  const split = new Writable({
    write(chunk: Buffer, _encoding, done) {
      let waiting = 2
      const ready = () => {
        if (--waiting === 0) done()
      }
      if (toStore.write(chunk)) ready()
      else toStore.once('drain', ready)
      if (decompressor.write(chunk)) ready()
      else decompressor.once('drain', ready)
    },
    final(done) {
      toStore.end()
      decompressor.end()
      done()
    },
  })
  const hashing = pipeline(decompressor, digestTransform(uncompressed), new Writable({ write: (_chunk, _encoding, done) => done() })).catch((error: unknown) => {
    throw new ZregError('ARCHIVE_INVALID', `${what} is damaged: it does not decompress (${(error as Error).message})`, { cause: error })
  })
  const put = await storedWhileFed(staging.blobPut(toStore), [pipeline(source, split), hashing], [source, split, toStore, decompressor])
  return { put, diffId: uncompressed.digest() }
}

/**
 * Waits for the store's write and the pipelines feeding it. On the first failure every stream is
 * destroyed (so none waits forever for a drain), and when the store itself failed with a ZregError
 * (a full disk, naming its file), that error is the one reported: the feeding streams only saw
 * themselves cut off, by the same error without a path.
 */
async function storedWhileFed(put: Promise<PutBlobResult>, feeds: Promise<unknown>[], streams: { destroy(): void }[]): Promise<PutBlobResult> {
  try {
    const [stored] = await Promise.all([put, ...feeds])
    return stored
  } catch (first) {
    for (const stream of streams) stream.destroy()
    const [stored] = await Promise.allSettled([put, ...feeds])
    throw stored.status === 'rejected' && stored.reason instanceof ZregError ? stored.reason : first
  }
}

/** gzip at zlib's default level 6, in blocks as pgzip (which containers/image uses) writes them. */
const layerGzip = { level: 6, blockSize: archiveReadBytes, parallel: availableParallelism() }

/**
 * Layers converted at once. A plain tar is gzipped on one of availableParallelism() worker threads
 * (gzip-pool.ts); one more than that waits in the pool's queue, so a worker that finishes a layer
 * starts the next at once. Each worker holds a few blocks: peak RSS of a 300 MiB add ~120 MB (bench f).
 */
const layerConversions = 3

/** Gzips a plain tar layer (deterministically: no name, no mtime) into the store, hashing the tar on the way. */
async function putCompressing(staging: StoreStaging, source: Readable): Promise<StoredLayer> {
  const uncompressed = new DigestCounter()
  const gzip = new ParallelGzip(layerGzip)
  const put = await storedWhileFed(staging.blobPut(gzip), [pipeline(source, digestTransform(uncompressed), gzip)], [source, gzip])
  return { put, diffId: uncompressed.digest() }
}

/**
 * putCompressing on a worker thread (gzip-pool.ts): the worker reads the layer from the archive
 * itself and writes the gzip into a file of the staging area, hashing both as they stream; the main
 * thread only registers the file. The same bytes and checks as putCompressing, several cores.
 */
async function putCompressingElsewhere(staging: StoreStaging & StagedFiles, location: FileLocation): Promise<StoredLayer> {
  const temp = await staging.stagedFilePath()
  let result: Awaited<ReturnType<typeof gzipFileRange>>
  try {
    result = await gzipFileRange({ ...location, temp, gzip: layerGzip })
  } catch (error) {
    await rm(temp, { force: true })
    throw systemError(error, temp) ?? error
  }
  const put = await staging.blobPutStaged(temp, { digest: result.digest, size: result.size })
  return { put, diffId: result.diffId }
}

/** The layer media type for each compression, per manifest format; undefined where the format has none. */
function layerMediaType(compression: LayerCompression, format: ManifestFormat): string | undefined {
  if (format === 'oci') return compression === 'zstd' ? MediaTypes.OciLayerZstd : MediaTypes.OciLayerGzip
  return compression === 'zstd' ? undefined : MediaTypes.DockerLayer
}

/**
 * Stores one layer, its compression told by its first bytes: a gzip or zstd layer keeps its bytes
 * (zstd only in an OCI manifest: Docker schema2 has no zstd media type, so that is FORMAT_UNSUPPORTED),
 * a plain tar is gzipped. Either way the uncompressed tar must hash to the config's diff_id, which
 * `expectedDiffId` gives once the layer is stored; `started` is called once the layer's work is under
 * way (or it failed before), so the caller can use its own thread meanwhile.
 */
async function putLayer(tree: FileTree, staging: StoreStaging, path: string, expectedDiffId: () => Promise<string>, format: ManifestFormat, started: () => void): Promise<Descriptor> {
  const what = `layer ${path} of ${tree.name}`
  let stored: StoredLayer
  let compression: LayerCompression
  let mediaType: string | undefined
  try {
    const head = await readHead(tree, path, compressionMagicLength)
    if (head === undefined) throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${tree.name} lacks the layer ${path} that its manifest.json lists`)
    compression = detectCompression(head)
    mediaType = layerMediaType(compression, format)
    if (mediaType === undefined) {
      throw new ZregError('FORMAT_UNSUPPORTED', `${what} is zstd-compressed, which a Docker schema2 manifest cannot express; add the image with --format oci`)
    }
    const location = hasFileLocations(tree) ? tree.locate(path) : undefined
    if (compression === 'none' && location !== undefined && hasStagedFiles(staging)) {
      const storing = putCompressingElsewhere(staging, location)
      started()
      stored = await storing
    } else {
      started()
      const source = (await tree.open(path))!
      stored = compression === 'none' ? await putCompressing(staging, source) : await putKeepingBytes(staging, source, createDecompressor(compression), what)
    }
  } finally {
    started()
  }
  const diffId = await expectedDiffId()
  if (stored.diffId !== diffId) {
    throw new ZregError('DIGEST_INVALID', `${what} (${compression === 'none' ? 'uncompressed' : compression}) has diff_id ${stored.diffId}, but the image config says ${diffId}`)
  }
  return { mediaType, digest: stored.put.digest, size: stored.put.size }
}

/**
 * Converts one docker-archive image into a Docker schema2 (or OCI) manifest in staging, keeping the
 * config's exact bytes so the image ID stays the same.
 */
export async function convertDockerImage(
  tree: FileTree,
  image: DockerArchiveImage,
  staging: StoreStaging,
  format: ManifestFormat,
  check: (config: ImageConfig) => void = () => undefined,
): Promise<Descriptor> {
  const configBytes = await readSmallFile(tree, image.config, maxManifestBytes)
  if (configBytes === undefined) throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${tree.name} lacks the config ${image.config} that its manifest.json lists`)
  const configDigest = digestOf(configBytes)
  // Both layouts name the config by its digest (`<hex>.json` or `blobs/sha256/<hex>`): check it.
  const named = /([a-f0-9]{64})(\.json)?$/.exec(image.config)?.[1]
  if (named !== undefined && `sha256:${named}` !== configDigest) {
    throw new ZregError('DIGEST_INVALID', `config ${image.config} hashes to ${configDigest}`)
  }
  // The first layers start before the config is parsed and validated, which takes this thread a while
  // the first time (the schema is compiled: ~100 ms) while worker threads gzip them. A config error
  // still wins: the layers that started are waited for, and it is the one reported.
  const first = Math.min(layerConversions, image.layers.length)
  let layersStarted!: () => void
  const firstStarted = new Promise<void>((resolve) => (layersStarted = resolve))
  let startedCount = 0
  if (first === 0) layersStarted()
  const configChecked = firstStarted.then(() => {
    const config = parseImageConfig(configBytes)
    check(config)
    const diffIds = config.rootfs.diff_ids
    if (diffIds.length !== image.layers.length) {
      throw new ZregError('MANIFEST_INVALID', `the config lists ${diffIds.length} layers but manifest.json ${image.layers.length}`)
    }
    return diffIds
  })
  configChecked.catch(() => undefined)
  const layersDone = mapLimit(image.layers, layerConversions, (layer, i) => {
    let once = false
    const started = () => {
      if (once) return
      once = true
      if (i < first && ++startedCount === first) layersStarted()
    }
    // Asked for only once the layer is stored: a promise made earlier would be an unhandled rejection when the config fails.
    return putLayer(tree, staging, layer, async () => (await configChecked)[i]!, format, started)
  })
  const layers = await layersDone.catch(async (error: unknown) => {
    await configChecked
    throw error
  })
  await configChecked
  const oci = format === 'oci'
  const configDescriptor: Descriptor = {
    mediaType: oci ? MediaTypes.OciConfig : MediaTypes.DockerConfig,
    digest: configDigest,
    size: configBytes.length,
  }
  await staging.blobPut(Readable.from([configBytes]), configDescriptor)
  const mediaType = oci ? MediaTypes.OciManifest : MediaTypes.DockerManifest
  const manifest = { schemaVersion: 2, mediaType, config: configDescriptor, layers }
  // Docker indents its manifests with three spaces; any fixed form keeps the digest reproducible.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3))
  const put = await staging.blobPut(Readable.from([bytes]))
  return { mediaType, digest: put.digest, size: put.size }
}

/** The images SOURCE:REF picks: REF is repo:tag (familiar or qualified) or @N; all when absent. */
function selectImages(images: DockerArchiveImage[], reference: string | undefined, display: string): { image: DockerArchiveImage; names: string[] }[] {
  // skopeo writes RepoTags fully qualified (docker.io/library/app:1); store them as docker save names them.
  if (reference === undefined) return images.map((image) => ({ image, names: image.repoTags.map(familiarName) }))
  if (reference.startsWith('@')) {
    const image = images[Number.parseInt(reference.slice(1), 10)]
    if (!/^@\d+$/.test(reference) || image === undefined) {
      throw new ZregError('SOURCE_NOT_FOUND', `${display} has no image ${reference} (it holds ${images.length}, from @0)`)
    }
    return [{ image, names: image.repoTags.map(familiarName) }]
  }
  const wanted = familiarName(reference)
  const image = images.find((candidate) => candidate.repoTags.some((tag) => familiarName(tag) === wanted))
  if (image === undefined) {
    const offered = images.flatMap((candidate) => candidate.repoTags).join(', ') || 'none'
    throw new ZregError('SOURCE_NOT_FOUND', `no image tagged "${reference}" in ${display} (it has: ${offered})`)
  }
  return [{ image, names: [wanted] }]
}

/** `docker-archive:`: each image is converted to a Docker schema2 (or OCI) manifest; see convertDockerImage. */
export class DockerArchiveImages implements ImageSource {
  constructor(
    private readonly tree: FileTree,
    private readonly display: string,
  ) {}

  async select(reference: string | undefined): Promise<SourceImage[]> {
    return selectImages(await readDockerArchiveManifest(this.tree), reference, this.display).map(({ image, names }) => ({
      names,
      store: async (staging: StoreStaging, options: StoreImageOptions) => {
        const checkPlatform = (config: ImageConfig) => {
          const wanted = options.platforms ?? []
          const platform = configPlatform(config)
          if (wanted.length > 0 && !wanted.some((one) => platformMatches(one, platform))) {
            throw new ZregError('PLATFORM_UNKNOWN', `${this.display} holds a ${formatPlatform(platform)} image, not ${wanted.map(formatPlatform).join(' or ')}`)
          }
        }
        return { descriptor: await convertDockerImage(this.tree, image, staging, options.format ?? 'docker', checkPlatform) }
      },
    }))
  }
}
