import { ZregError } from '../errors.js'
import type { Platform } from '../oci/platform.js'
import { defaultTag, isTag, parseImageReference, type ImageReference } from '../oci/reference.js'
import type { Store, StoredRef } from '../store/store.js'
import type { IngestProgress } from './copy-image.js'
import type { ManifestFormat } from './docker-archive.js'
import type { ImageSource, StoredImage, StoreImageOptions } from './image-source.js'
import { openImageSource } from './open-source.js'
import type { RemoteOptions } from './registry-source.js'
import { parseSource } from './source.js'

export interface AddOptions {
  /** REPO or REPO:TAG to store the image under; REPO alone keeps the source's tag. */
  name?: string
  /** Keep these platforms of an index: one replaces it by its manifest, several give an index of only them. */
  platforms?: Platform[]
  /** How `docker://` sources are reached and named. */
  remote?: RemoteOptions
  /** What docker-archive images become (default: Docker schema2). */
  format?: ManifestFormat
  onProgress?: (progress: IngestProgress) => void
}

export interface AddedImage {
  repository: string
  /** Absent for an image kept untagged (added by digest, or a referrer of an added image). */
  tag?: string
  digest: string
  mediaType: string
  size: number
}

/** The tag a source name carries: `repo:tag` gives tag, a bare tag gives itself; `repo@digest` none. */
function sourceTag(sourceName: string | undefined): string | undefined {
  if (sourceName === undefined) return defaultTag
  if (sourceName.includes('@')) return undefined
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
    return [...new Set(tags)].map((tag) => (tag === undefined ? { repository: override.repository } : { repository: override.repository, tag }))
  }
  if (sourceNames.length === 0) throw new ZregError('NAME_INVALID', 'the source image has no name; pass --name REPO[:TAG]')
  return sourceNames.map((name) => {
    try {
      const ref = parseImageReference(name)
      if (ref.tag === undefined && ref.digest === undefined) throw new ZregError('TAG_INVALID', `"${name}" has no tag`)
      return ref
    } catch (error) {
      throw new ZregError('NAME_INVALID', `the source calls the image "${name}", which is not REPO:TAG; pass --name REPO[:TAG]`, { cause: error })
    }
  })
}

/** The refs to record: each name (untagged when it has no tag), and the referrers untagged beside them. */
function toRefs(names: ImageReference[], stored: StoredImage): StoredRef[] {
  const refs: StoredRef[] = names.map((name) => (name.tag === undefined ? { repository: name.repository, descriptor: stored.descriptor } : { repository: name.repository, tag: name.tag, descriptor: stored.descriptor }))
  for (const repository of new Set(names.map((name) => name.repository))) {
    for (const descriptor of stored.referrers ?? []) refs.push({ repository, descriptor })
  }
  return refs
}

/** Two different images under one REPO:TAG (`--name REPO` over images that share a tag) would lose one. */
function refuseTagTwice(refs: StoredRef[]): void {
  const seen = new Map<string, string>()
  for (const ref of refs) {
    if (ref.tag === undefined) continue
    const name = `${ref.repository}:${ref.tag}`
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
  let imageSource: ImageSource | undefined
  try {
    // Archives are read in place (no unpacking): every blob goes from the source straight into staging.
    imageSource = await openImageSource(source, () => staging.scratchDirectory(), options.remote)
    const images = await imageSource.select(source.reference)
    const storeOptions: StoreImageOptions = { ...(options.platforms?.length ? { platforms: options.platforms } : {}), ...(options.format ? { format: options.format } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) }
    const refs: StoredRef[] = []
    for (const image of images) {
      const names = targetNames(image.names, override, images.length)
      refs.push(...toRefs(names, await image.store(staging, storeOptions)))
    }
    refuseTagTwice(refs)
    await staging.commit(refs)
    return refs.map((ref) => ({
      repository: ref.repository,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      digest: ref.descriptor.digest,
      mediaType: ref.descriptor.mediaType,
      size: ref.descriptor.size,
    }))
  } finally {
    await imageSource?.close?.()
    await staging.abort()
  }
}
