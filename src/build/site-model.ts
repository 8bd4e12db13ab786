import type { Digest } from '../oci/digest.js'
import { annotationsOf, artifactTypeOf, maxManifestBytes, parseManifest, referencedDescriptors, subjectOf, type Descriptor } from '../oci/manifest.js'
import type { BlobReader, Store } from '../store/store.js'

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
}

export interface RepositoryModel {
  name: string
  /** tag -> manifest digest */
  tags: Map<string, Digest>
  /** Every manifest the repository serves: tagged, kept untagged, and children of indexes. */
  manifests: Map<Digest, ManifestSummary>
}

export type ManifestCache = Map<Digest, ManifestSummary>

async function summarize(store: BlobReader, descriptor: Descriptor, cache: ManifestCache): Promise<ManifestSummary> {
  const cached = cache.get(descriptor.digest)
  if (cached) return cached
  const parsed = parseManifest(await store.blobBytes(descriptor.digest, maxManifestBytes), descriptor.mediaType)
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

/**
 * Reads the store's references into per-repository models. `cache` carries manifest summaries between
 * builds: manifests are content-addressed, so a cached summary never goes stale.
 */
export async function loadRepositories(store: Store, cache: ManifestCache = new Map()): Promise<RepositoryModel[]> {
  const repositories = new Map<string, RepositoryModel>()
  for (const ref of await store.refList()) {
    let repository = repositories.get(ref.repository)
    if (!repository) {
      repository = { name: ref.repository, tags: new Map(), manifests: new Map() }
      repositories.set(ref.repository, repository)
    }
    if (ref.tag !== undefined) repository.tags.set(ref.tag, ref.descriptor.digest)
    const pending: Descriptor[] = [ref.descriptor]
    for (let next = pending.pop(); next; next = pending.pop()) {
      if (repository.manifests.has(next.digest)) continue
      const summary = await summarize(store, next, cache)
      repository.manifests.set(next.digest, summary)
      if (summary.kind === 'index') pending.push(...summary.references)
    }
  }
  return [...repositories.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
