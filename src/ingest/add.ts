import { ZregError } from '../errors.js'
import type { Descriptor } from '../oci/manifest.js'
import { platformMatches, formatPlatform, type Platform } from '../oci/platform.js'
import { defaultTag, isTag, parseImageReference, type ImageReference } from '../oci/reference.js'
import type { Store, StoreStaging, StoredRef } from '../store/store.js'
import { ImageCopier, type IngestProgress } from './copy-image.js'
import { convertDockerImage, familiarName, readDockerArchiveManifest, type DockerArchiveImage, type ManifestFormat } from './docker-archive.js'
import type { FileTree } from './file-tree.js'
import { OciLayoutSource, type LayoutEntry } from './oci-layout-source.js'
import { openSourceTree } from './open-source.js'
import { parseSource, type SourceRef } from './source.js'
import type { ImageConfig } from '../oci/manifest.js'

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

function selectLayoutEntries(entries: LayoutEntry[], source: SourceRef): LayoutEntry[] {
  if (source.reference !== undefined) {
    const found = entries.filter((entry) => entry.refName === source.reference)
    if (found.length === 0) {
      const offered = entries.map((entry) => entry.refName).filter(Boolean).join(', ') || 'none'
      throw new ZregError('SOURCE_NOT_FOUND', `no image named "${source.reference}" in ${source.path} (it has: ${offered})`)
    }
    return found
  }
  const named = entries.filter((entry) => entry.refName !== undefined)
  if (named.length > 0) return named
  if (entries.length === 1) return entries
  throw new ZregError('SOURCE_AMBIGUOUS', `${source.path} holds ${entries.length} unnamed images; name one as SOURCE:REF`)
}

async function addFromLayout(layout: OciLayoutSource, source: SourceRef, staging: StoreStaging, override: ImageReference | undefined, options: AddOptions): Promise<StoredRef[]> {
  const selected = selectLayoutEntries(await layout.entries(), source)
  const copier = new ImageCopier(layout, staging, { ...(options.platform ? { platform: options.platform } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) })
  const refs: StoredRef[] = []
  for (const entry of selected) {
    const names = targetNames(entry.refName === undefined ? [] : [entry.refName], override, selected.length)
    refs.push(...toRefs(names, await copier.copy(entry.descriptor)))
  }
  return refs
}

function selectDockerImages(images: DockerArchiveImage[], source: SourceRef): { image: DockerArchiveImage; names: string[] }[] {
  const reference = source.reference
  // skopeo writes RepoTags fully qualified (docker.io/library/app:1); store them as docker save names them.
  if (reference === undefined) return images.map((image) => ({ image, names: image.repoTags.map(familiarName) }))
  if (reference.startsWith('@')) {
    const image = images[Number.parseInt(reference.slice(1), 10)]
    if (!/^@\d+$/.test(reference) || image === undefined) {
      throw new ZregError('SOURCE_NOT_FOUND', `${source.path} has no image ${reference} (it holds ${images.length}, from @0)`)
    }
    return [{ image, names: image.repoTags.map(familiarName) }]
  }
  const wanted = familiarName(reference)
  const image = images.find((candidate) => candidate.repoTags.some((tag) => familiarName(tag) === wanted))
  if (image === undefined) {
    const offered = images.flatMap((candidate) => candidate.repoTags).join(', ') || 'none'
    throw new ZregError('SOURCE_NOT_FOUND', `no image tagged "${reference}" in ${source.path} (it has: ${offered})`)
  }
  return [{ image, names: [wanted] }]
}

async function addFromDockerArchive(tree: FileTree, source: SourceRef, staging: StoreStaging, override: ImageReference | undefined, options: AddOptions): Promise<StoredRef[]> {
  const selected = selectDockerImages(await readDockerArchiveManifest(tree), source)
  const refs: StoredRef[] = []
  for (const { image, names } of selected) {
    const targets = targetNames(names, override, selected.length)
    const checkPlatform = (config: ImageConfig) => {
      if (options.platform === undefined) return
      const platform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }
      if (!platformMatches(options.platform, platform)) {
        throw new ZregError('PLATFORM_UNKNOWN', `${source.path} holds a ${formatPlatform(platform)} image, not ${formatPlatform(options.platform)}`)
      }
    }
    refs.push(...toRefs(targets, await convertDockerImage(tree, image, staging, options.format ?? 'docker', checkPlatform)))
  }
  return refs
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
    const tree = await openSourceTree(source, () => staging.scratchDirectory())
    const refs =
      source.transport === 'docker-archive'
        ? await addFromDockerArchive(tree, source, staging, override, options)
        : await addFromLayout(new OciLayoutSource(tree), source, staging, override, options)
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
