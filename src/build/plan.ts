import { createHash } from 'node:crypto'
import type { Digest } from '../oci/digest.js'
import { isDistributable, MediaTypes } from '../oci/media-types.js'
import { platformMatches, type Platform } from '../oci/platform.js'
import { pageFormat, repositoryFragment } from './catalog-page.js'
import { planMapBuckets, type MapBucket } from './map-buckets.js'
import { noRedirects, type BlobRedirect, type RedirectRules } from './redirect-rules.js'
import type { ManifestSummary, RepositoryModel } from './site-model.js'

/** The headers a server sends with one file of the tree. */
export interface HeaderEntry {
  contentType: string
  /** Docker-Content-Digest; absent for lists (tags, catalog). */
  digest?: string
  length: number
  /**
   * For a tag that names an index: the repository-relative path of the default platform's manifest,
   * served to clients whose Accept admits no index (as registries do); null when the index lacks it.
   */
  platformFallback?: string | null
  /** For a blob: the media type the manifests' descriptors give it (what serve-time redirect rules match). */
  mediaType?: string
  /** For a blob a redirect rule sends elsewhere: the tree holds no file for it, and servers answer this redirect. */
  redirect?: BlobRedirect
}

export type FileSource = { blob: Digest; optional?: boolean } | { text: string }

/** One file of a repository's part of the tree, at a path relative to `v2/<repo>/`. */
export interface PlannedFile {
  path: string
  source: FileSource
  headers: HeaderEntry
}

export interface RepositoryPlan {
  name: string
  /** Content hash of the plan: equal keys mean byte-identical repository trees. */
  key: string
  files: PlannedFile[]
  /** Its part of the catalog page (catalog-page.ts), kept beside its directory. */
  page: string
}

/** A repository as the generation names it: its input hash and the directory holding its tree. */
export interface RepositoryEntry {
  name: string
  input: string
  key: string
}

export interface SitePlan {
  repositories: RepositoryEntry[]
  /** Files outside any repository, at paths relative to the tree root. */
  rootFiles: PlannedFile[]
  defaultPlatform: Platform
  /** Seconds caches may keep what a build can change (see cache-control.ts). */
  cacheMaxAge: number
  /** The host the catalog page's pull commands name (absent: the page fills in the one it is served from). */
  publicHost?: string
  key: string
  /** The repositories split as the generation's files that name them all are (planMapBuckets), when planSite made the plan. */
  buckets?: MapBucket[]
}

export interface PlanOptions {
  defaultPlatform: Platform
  /** Blobs answered with a redirect instead of being held in the tree (default: none). */
  redirects?: RedirectRules
}

export interface SitePlanOptions extends PlanOptions {
  cacheMaxAge: number
  publicHost?: string
}

/** Bump when the tree's shape changes, so old per-repository directories are not reused. */
export const treeFormatVersion = 7

const apiVersionBody = '{}'

function text(path: string, body: string, contentType: string): PlannedFile {
  return { path, source: { text: body }, headers: { contentType, length: Buffer.byteLength(body) } }
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex')
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function manifestHeaders(summary: ManifestSummary): HeaderEntry {
  return { contentType: summary.mediaType, digest: summary.digest, length: summary.size }
}

function defaultChildPath(summary: ManifestSummary, platform: Platform): string | null {
  const child = summary.references.find((descriptor) => platformMatches(platform, descriptor.platform))
  return child ? `manifests/${child.digest}` : null
}

function referrersIndex(referrers: ManifestSummary[]): string {
  const manifests = referrers
    .sort((a, b) => compare(a.digest, b.digest))
    .map((summary) => ({
      mediaType: summary.mediaType,
      digest: summary.digest,
      size: summary.size,
      ...(summary.artifactType ? { artifactType: summary.artifactType } : {}),
      ...(summary.annotations ? { annotations: summary.annotations } : {}),
    }))
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests })
}

export function planRepository(repository: RepositoryModel, options: PlanOptions): RepositoryPlan {
  const files: PlannedFile[] = []
  const tags = [...repository.tags.keys()].sort(compare)
  files.push(text('tags/list', JSON.stringify({ name: repository.name, tags }), MediaTypes.Json))
  const manifests = [...repository.manifests.values()].sort((a, b) => compare(a.digest, b.digest))
  for (const tag of tags) {
    const summary = repository.manifests.get(repository.tags.get(tag)!)!
    const headers = manifestHeaders(summary)
    if (summary.kind === 'index') headers.platformFallback = defaultChildPath(summary, options.defaultPlatform)
    files.push({ path: `manifests/${tag}`, source: { blob: summary.digest }, headers })
  }
  const blobs = new Map<Digest, { size: number; optional: boolean; mediaType: string }>()
  const referrers = new Map<Digest, ManifestSummary[]>()
  for (const summary of manifests) {
    files.push({ path: `manifests/${summary.digest}`, source: { blob: summary.digest }, headers: manifestHeaders(summary) })
    if (summary.kind === 'image') {
      for (const descriptor of summary.references) {
        if (!blobs.has(descriptor.digest)) blobs.set(descriptor.digest, { size: descriptor.size, optional: !isDistributable(descriptor.mediaType), mediaType: descriptor.mediaType })
      }
    }
    if (summary.subject) referrers.set(summary.subject.digest, [...(referrers.get(summary.subject.digest) ?? []), summary])
  }
  const redirects = options.redirects ?? noRedirects
  for (const [digest, blob] of [...blobs].sort(([a], [b]) => compare(a, b))) {
    const headers: HeaderEntry = { contentType: MediaTypes.OctetStream, digest, length: blob.size, mediaType: blob.mediaType }
    // A foreign layer is not ours to place anywhere: it stays as the manifest says (fetched from its URLs).
    const redirect = blob.optional ? undefined : redirects.redirectOf(repository.name, { digest, size: blob.size, mediaType: blob.mediaType })
    if (redirect) headers.redirect = redirect
    files.push({ path: `blobs/${digest}`, source: blob.optional ? { blob: digest, optional: true } : { blob: digest }, headers })
  }
  for (const [subject, list] of [...referrers].sort(([a], [b]) => compare(a, b))) {
    files.push(text(`referrers/${subject}`, referrersIndex(list), MediaTypes.OciIndex))
  }
  const page = repositoryFragment(repository)
  return { name: repository.name, key: hashOf([treeFormatVersion, pageFormat, repository.name, files, page]), files, page }
}

/**
 * The generation: the root files and which repository directory each repository uses. Pure, so it is
 * tested without a file system. The names must be ones the tree can hold together (treeCollisions).
 */
export function planSite(repositories: RepositoryEntry[], options: SitePlanOptions): SitePlan {
  const sorted = [...repositories].sort((a, b) => compare(a.name, b.name))
  const names = sorted.map((repository) => repository.name)
  const rootFiles = [
    text('v2/index.html', apiVersionBody, MediaTypes.Json),
    text('v2/_catalog', JSON.stringify({ repositories: names }), MediaTypes.Json),
  ]
  // Named by the buckets' hashes of their repositories' keys, and by each root file's hash: hashing
  // the JSON of every name and key again took 10-20 ms of a one-tag rebuild with 10,000 repositories.
  const buckets = planMapBuckets(sorted)
  const rootHashes = rootFiles.map((file) => [file.path, file.headers, 'text' in file.source ? createHash('sha256').update(file.source.text).digest('hex') : file.source])
  const key = hashOf([treeFormatVersion, options.defaultPlatform, options.cacheMaxAge, options.publicHost ?? null, rootHashes, buckets.map((bucket) => bucket.hash)])
  return {
    buckets,
    repositories: sorted,
    rootFiles,
    defaultPlatform: options.defaultPlatform,
    cacheMaxAge: options.cacheMaxAge,
    ...(options.publicHost === undefined ? {} : { publicHost: options.publicHost }),
    key,
  }
}
