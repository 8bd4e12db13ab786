import { createHash } from 'node:crypto'
import type { Digest } from '../oci/digest.js'
import { addedAnnotation } from '../oci/annotations.js'
import { annotationsOf, artifactTypeOf, configPlatformOf, isImageConfig, maxManifestBytes, parseManifest, referencedDescriptors, subjectOf, type Descriptor } from '../oci/manifest.js'
import type { Platform } from '../oci/platform.js'
import type { BlobReader, Store, StoredRef } from '../store/store.js'

/** What the build needs to know of one manifest, read once per digest. */
export interface ManifestSummary {
  digest: Digest
  mediaType: string
  size: number
  kind: 'image' | 'index'
  /** Index children, or an image's config and layers. */
  references: Descriptor[]
  subject?: Descriptor
  artifactType?: string
  annotations?: Record<string, string>
  /**
   * A tagged image's platform, from its config (an index's children carry theirs in the index): null
   * for an artifact whose config is no image config, undefined where it was not needed.
   */
  platform?: Platform | null
}

export interface RepositoryModel {
  name: string
  /** tag -> manifest digest */
  tags: Map<string, Digest>
  /** tag -> when the store got it (RFC 3339), for tags stored since zreg records it. */
  added: Map<string, string>
  /** tag -> the overlay store it comes from (built from a stack), for tags an overlay supplies. */
  sources: Map<string, string>
  /** Every manifest the repository serves: tagged, kept untagged, and children of indexes. */
  manifests: Map<Digest, ManifestSummary>
}

/** Manifests are content-addressed, so a cached summary never goes stale. */
export type ManifestCache = Map<Digest, ManifestSummary>

async function summarize(store: BlobReader, descriptor: Descriptor, cache: ManifestCache): Promise<ManifestSummary> {
  const cached = cache.get(descriptor.digest)
  if (cached) return cached
  // Everything in the store passed its schema on the way in: the build does not validate it again.
  const parsed = parseManifest(await store.blobBytes(descriptor.digest, maxManifestBytes), descriptor.mediaType, { validate: false })
  const subject = subjectOf(parsed)
  const artifactType = artifactTypeOf(parsed)
  const annotations = annotationsOf(parsed)
  const summary: ManifestSummary = {
    digest: descriptor.digest,
    mediaType: parsed.mediaType,
    size: descriptor.size,
    kind: parsed.kind,
    references: referencedDescriptors(parsed),
    ...(subject ? { subject } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  }
  cache.set(descriptor.digest, summary)
  return summary
}

/** The platform an image's config names, read once per manifest (configs are content-addressed too). */
async function imagePlatform(store: BlobReader, summary: ManifestSummary): Promise<Platform | null> {
  if (summary.platform !== undefined) return summary.platform
  const config = summary.references[0]
  summary.platform = config !== undefined && isImageConfig(config.mediaType) ? (configPlatformOf(await store.blobBytes(config.digest, maxManifestBytes)) ?? null) : null
  return summary.platform
}

/** The store's references by repository, in repository order. */
export function groupByRepository(refs: StoredRef[]): Map<string, StoredRef[]> {
  const groups = new Map<string, StoredRef[]>()
  for (const ref of refs) {
    const group = groups.get(ref.repository)
    if (group) group.push(ref)
    else groups.set(ref.repository, [ref])
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * A hash of everything a repository's part of the tree depends on: its name and which digest each of
 * its references names. Manifests are content-addressed, so equal inputs give equal trees and a build
 * need not read the repository's manifests again.
 */
export function repositoryInput(name: string, refs: StoredRef[], salt: unknown): string {
  let text = `${JSON.stringify(salt)}\n${name}\n`
  // So are the add time and the overlay a tag comes from, both shown on the catalog page (catalog-page.ts).
  for (const ref of refs) text += `${ref.tag ?? ''}@${ref.descriptor.digest}:${ref.descriptor.mediaType}:${ref.descriptor.annotations?.[addedAnnotation] ?? ''}:${ref.source ?? ''}\n`
  // One update per repository: a build hashes every repository, and each call into the hash costs more than its bytes.
  return createHash('sha256').update(text).digest('hex')
}

/** Reads one repository's manifests (and its indexes' children) into a model. */
export async function loadRepository(store: BlobReader, name: string, refs: StoredRef[], cache: ManifestCache = new Map()): Promise<RepositoryModel> {
  const repository: RepositoryModel = { name, tags: new Map(), added: new Map(), sources: new Map(), manifests: new Map() }
  const pending: Descriptor[] = []
  for (const ref of refs) {
    if (ref.tag !== undefined) {
      repository.tags.set(ref.tag, ref.descriptor.digest)
      const added = ref.descriptor.annotations?.[addedAnnotation]
      if (added !== undefined) repository.added.set(ref.tag, added)
      if (ref.source !== undefined) repository.sources.set(ref.tag, ref.source)
    }
    pending.push(ref.descriptor)
  }
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (repository.manifests.has(next.digest)) continue
    const summary = await summarize(store, next, cache)
    repository.manifests.set(summary.digest, summary)
    if (summary.kind === 'index') pending.push(...summary.references)
  }
  // A tagged image's platform: the one the store recorded on its descriptor (stores since zreg records
  // it), else its config's.
  for (const ref of refs) {
    const summary = repository.manifests.get(ref.descriptor.digest)!
    if (ref.tag === undefined || summary.kind !== 'image') continue
    if (summary.platform === undefined && ref.descriptor.platform) summary.platform = ref.descriptor.platform
    await imagePlatform(store, summary)
  }
  return repository
}

/** Reads every repository of the store into models. */
export async function loadRepositories(store: Store, cache: ManifestCache = new Map()): Promise<RepositoryModel[]> {
  const models: RepositoryModel[] = []
  for (const [name, refs] of groupByRepository(await store.refList())) models.push(await loadRepository(store, name, refs, cache))
  return models
}
