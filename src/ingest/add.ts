import { ZregError } from '../errors.js'
import type { Descriptor } from '../oci/manifest.js'
import type { Platform } from '../oci/platform.js'
import { defaultTag, isTag, parseImageReference, type ImageReference } from '../oci/reference.js'
import type { Store, StoredRef } from '../store/store.js'
import type { IngestProgress } from './copy-image.js'
import type { ManifestFormat } from './docker-archive.js'
import type { StoreImageOptions } from './image-source.js'
import { openImageSource } from './open-source.js'
import { parseSource } from './source.js'

export interface AddOptions {
  /** REPO or REPO:TAG to store the image under; REPO alone keeps the source's tag. */
  name?: string
  /** Keep one platform of an index. */
  platform?: Platform
  /** What docker-archive images become (default: Docker schema2). */
  format?: ManifestFormat
  onProgress?: (progress: IngestProgress) => void
}

export interface AddedImage {
  repository: string
  tag: string
  digest: string
  mediaType: string
  size: number
}

/** The tag a source name carries: `repo:tag` gives tag, a bare tag gives itself. */
function sourceTag(sourceName: string | undefined): string {
  if (sourceName === undefined) return defaultTag
  const colon = sourceName.lastIndexOf(':')
  if (colon > sourceName.lastIndexOf('/')) return sourceName.slice(colon + 1)
  return isTag(sourceName) ? sourceName : defaultTag
}

/** The names to store one image under, from --name or else from what the source calls it. */
function targetNames(sourceNames: string[], override: ImageReference | undefined, imageCount: number): ImageReference[] {
  if (override !== undefined) {
    if (override.tag !== undefined) {
      if (imageCount > 1) throw new ZregError('SOURCE_AMBIGUOUS', `--name ${override.repository}:${override.tag} names one image, but the source holds ${imageCount}`)
      return [override]
    }
    const tags = sourceNames.length > 0 ? sourceNames.map(sourceTag) : [defaultTag]
    return [...new Set(tags)].map((tag) => ({ repository: override.repository, tag }))
  }
  if (sourceNames.length === 0) throw new ZregError('NAME_INVALID', 'the source image has no name; pass --name REPO[:TAG]')
  return sourceNames.map((name) => {
    try {
      const ref = parseImageReference(name)
      if (ref.tag === undefined) throw new ZregError('TAG_INVALID', `"${name}" has no tag`)
      return ref
    } catch (error) {
      throw new ZregError('NAME_INVALID', `the source calls the image "${name}", which is not REPO:TAG; pass --name REPO[:TAG]`, { cause: error })
    }
  })
}

function toRefs(names: ImageReference[], descriptor: Descriptor): StoredRef[] {
  return names.map((name) => ({ repository: name.repository, tag: name.tag!, descriptor }))
}

/** Two different images under one REPO:TAG (`--name REPO` over images that share a tag) would lose one. */
function refuseTagTwice(refs: StoredRef[]): void {
  const seen = new Map<string, string>()
  for (const ref of refs) {
    const name = `${ref.repository}:${ref.tag!}`
    const digest = seen.get(name)
    if (digest !== undefined && digest !== ref.descriptor.digest) {
      throw new ZregError('SOURCE_AMBIGUOUS', `two images of the source would both be stored as ${name} (${digest} and ${ref.descriptor.digest}); add them one at a time with SOURCE:REF and --name REPO:TAG`)
    }
    seen.set(name, ref.descriptor.digest)
  }
}

/**
 * Adds the image(s) SOURCE names to the store. Every blob is verified as it streams in; on any error
 * nothing is published and the store is unchanged.
 */
export async function addImages(store: Store, sourceText: string, options: AddOptions = {}): Promise<AddedImage[]> {
  const source = parseSource(sourceText)
  const override = options.name === undefined ? undefined : parseImageReference(options.name)
  if (override?.digest !== undefined) throw new ZregError('USAGE', '--name takes REPO or REPO:TAG, not a digest')
  const staging = await store.stage()
  try {
    // Archives are read in place (no unpacking): every blob goes from the source straight into staging.
    const images = await (await openImageSource(source, () => staging.scratchDirectory())).select(source.reference)
    const storeOptions: StoreImageOptions = { ...(options.platform ? { platform: options.platform } : {}), ...(options.format ? { format: options.format } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) }
    const refs: StoredRef[] = []
    for (const image of images) refs.push(...toRefs(targetNames(image.names, override, images.length), await image.store(staging, storeOptions)))
    refuseTagTwice(refs)
    await staging.commit(refs)
    return refs.map((ref) => ({
      repository: ref.repository,
      tag: ref.tag!,
      digest: ref.descriptor.digest,
      mediaType: ref.descriptor.mediaType,
      size: ref.descriptor.size,
    }))
  } finally {
    await staging.abort()
  }
}
