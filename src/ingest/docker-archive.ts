import { createReadStream, existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { ZregError } from '../errors.js'
import { DigestCounter, digestOf, type Digest } from '../oci/digest.js'
import { parseImageConfig, type Descriptor, type ImageConfig } from '../oci/manifest.js'
import { MediaTypes } from '../oci/media-types.js'
import type { StoreStaging } from '../store/store.js'
import { isGzipFile, safeEntryPath } from './tar-extract.js'

/** One entry of a docker-archive's manifest.json. */
export interface DockerArchiveImage {
  config: string
  repoTags: string[]
  layers: string[]
}

export type ManifestFormat = 'docker' | 'oci'

export async function readDockerArchiveManifest(dir: string, archive: string): Promise<DockerArchiveImage[]> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
  } catch (error) {
    throw new ZregError('ARCHIVE_INVALID', `${archive} has no readable manifest.json (is it a \`docker save\` archive?): ${(error as Error).message}`)
  }
  if (!Array.isArray(json)) throw new ZregError('ARCHIVE_INVALID', `${archive}: manifest.json is not an array`)
  return json.map((entry: { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null, index) => {
    if (entry === null || typeof entry !== 'object' || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw new ZregError('ARCHIVE_INVALID', `${archive}: manifest.json entry ${index} lacks Config or Layers`)
    }
    const repoTags = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((t): t is string => typeof t === 'string') : []
    return { config: safeEntryPath(entry.Config), repoTags, layers: (entry.Layers as string[]).map(safeEntryPath) }
  })
}

/** Docker names images by their familiar form (`alpine:3`); accept the fully qualified one too. */
export function familiarName(name: string): string {
  return name.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '')
}

/**
 * Stores one layer: an uncompressed tar is gzipped (deterministically: no name, no mtime) while its
 * diff_id is checked; an already gzipped one keeps its bytes and is gunzipped only to check the diff_id.
 */
async function putLayer(staging: StoreStaging, path: string, diffId: string, layerMediaType: string): Promise<Descriptor> {
  const uncompressed = new DigestCounter()
  const tap = async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      uncompressed.update(chunk)
      yield chunk
    }
  }
  let put: { digest: Digest; size: number }
  if (await isGzipFile(path)) {
    // Two passes over the file keep memory flat: one checks the diff_id, one stores the bytes.
    await pipeline(createReadStream(path), createGunzip(), tap, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) void chunk
    })
    put = await staging.blobPut(createReadStream(path))
  } else {
    const gzip = createGzip({ level: 6 })
    const [, result] = await Promise.all([pipeline(createReadStream(path), tap, gzip), staging.blobPut(gzip)])
    put = result
  }
  const actualDiffId = uncompressed.digest()
  if (actualDiffId !== diffId) {
    throw new ZregError('DIGEST_INVALID', `layer ${path} has diff_id ${actualDiffId}, but the image config says ${diffId}`)
  }
  return { mediaType: layerMediaType, digest: put.digest, size: put.size }
}

/**
 * Converts one docker-archive image (unpacked in `dir`) into a Docker schema2 (or OCI) manifest in
 * staging, keeping the config's exact bytes so the image ID stays the same.
 */
export async function convertDockerImage(
  dir: string,
  image: DockerArchiveImage,
  staging: StoreStaging,
  format: ManifestFormat,
  check: (config: ImageConfig) => void = () => undefined,
): Promise<Descriptor> {
  const configBytes = await readFile(join(dir, image.config)).catch(() => {
    throw new ZregError('MANIFEST_BLOB_UNKNOWN', `the archive lacks the config ${image.config}`)
  })
  const configDigest = digestOf(configBytes)
  // Both layouts name the config by its digest (`<hex>.json` or `blobs/sha256/<hex>`): check it.
  const named = /([a-f0-9]{64})(\.json)?$/.exec(image.config)?.[1]
  if (named !== undefined && `sha256:${named}` !== configDigest) {
    throw new ZregError('DIGEST_INVALID', `config ${image.config} hashes to ${configDigest}`)
  }
  const config = parseImageConfig(configBytes)
  check(config)
  const diffIds = config.rootfs.diff_ids
  if (diffIds.length !== image.layers.length) {
    throw new ZregError('MANIFEST_INVALID', `the config lists ${diffIds.length} layers but manifest.json ${image.layers.length}`)
  }
  const oci = format === 'oci'
  const configDescriptor: Descriptor = {
    mediaType: oci ? MediaTypes.OciConfig : MediaTypes.DockerConfig,
    digest: configDigest,
    size: configBytes.length,
  }
  await staging.blobPut(Readable.from([configBytes]), configDescriptor)
  const layers: Descriptor[] = []
  for (const [i, layer] of image.layers.entries()) {
    const path = join(dir, layer)
    if (!existsSync(path)) throw new ZregError('MANIFEST_BLOB_UNKNOWN', `the archive lacks the layer ${layer}`)
    layers.push(await putLayer(staging, path, diffIds[i]!, oci ? MediaTypes.OciLayerGzip : MediaTypes.DockerLayer))
  }
  const mediaType = oci ? MediaTypes.OciManifest : MediaTypes.DockerManifest
  const manifest = { schemaVersion: 2, mediaType, config: configDescriptor, layers }
  // Docker indents its manifests with three spaces; any fixed form keeps the digest reproducible.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3))
  const put = await staging.blobPut(Readable.from([bytes]))
  return { mediaType, digest: put.digest, size: put.size }
}
