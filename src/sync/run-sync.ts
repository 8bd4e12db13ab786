import pLimit, { type LimitFunction } from 'p-limit'
import { asZregError, ZregError } from '../errors.js'
import type { Digest } from '../oci/digest.js'
import { isDigest } from '../oci/digest.js'
import { connectRegistry, RegistryImages, scopedRepository, type RemoteOptions, type TransferPool } from '../ingest/registry-source.js'
import type { IngestProgress } from '../ingest/copy-image.js'
import type { RegistryClient } from '../remote/registry-client.js'
import { formatRemoteReference, parseRemoteReference, type RemoteReference } from '../remote/remote-reference.js'
import type { Store, StoredRef, StoreStaging } from '../store/store.js'
import type { SyncRegistry } from './sync-file.js'
import { newestTags, tagsInSemverRange, tagsMatching } from './tag-selection.js'

export interface SyncOptions {
  /** Resolve and compare only: nothing is fetched or written. */
  dryRun?: boolean
  /** Remove stored tags of a mirrored repository that its selection no longer names. */
  prune?: boolean
  /** Store every image under REGISTRY/REPOSITORY (as skopeo sync --scoped). */
  scoped?: boolean
  /** Blob downloads at once across all images (default 8); as many images are in flight. */
  jobs?: number
  /** Credentials, TLS and retry reporting for registries whose entry does not say (the file's keys win). */
  remote?: RemoteOptions
  onImage?: SyncEvents
}

/** What a sync reports as it goes, for progress display. */
export interface SyncEvents {
  /** The selection is known: this many images will be mirrored. */
  planned(images: number): void
  started(id: string, label: string): void
  bytes(id: string, bytes: number): void
  finished(image: SyncedImage): void
}

export type SyncStatus = 'fetched' | 'unchanged' | 'would-fetch' | 'failed'

/** One image of a sync: the `--json` summary lists each. */
export interface SyncedImage {
  /** The source, `registry/repository:tag` or `@digest`. */
  source: string
  /** The stored name, `repository:tag` or `repository@digest`. */
  target: string
  status: SyncStatus
  digest?: string
  /** Blobs and bytes downloaded for it (blobs another image of the run fetched first are not counted twice). */
  blobs?: number
  bytes?: number
  error?: { code: string; message: string }
}

export interface SyncSummary {
  images: SyncedImage[]
  /** Tags --prune removed (with --dry-run: would remove). */
  pruned: { repository: string; tag: string }[]
  failed: number
}

/** One image to mirror: where it comes from (tag or digest in `ref`) and the repository it is stored in. */
interface SyncJob {
  entry: SyncRegistry
  client: RegistryClient
  ref: RemoteReference
  repository: string
}

/** The stored name: `repository:tag`, or `repository@digest` for a digest alone. */
function targetName(job: SyncJob): string {
  return job.ref.tag !== undefined ? `${job.repository}:${job.ref.tag}` : `${job.repository}@${job.ref.digest!}`
}

function targetRepository(entry: SyncRegistry, ref: RemoteReference, scoped: boolean): string {
  const base = scoped ? scopedRepository(ref.registry, ref.repository) : ref.repository
  if (entry.prefix === undefined || entry.prefix === '') return base
  return `${entry.prefix.replace(/\/+$/, '')}/${base}`
}

/** What the steps of a sync share: the summary being written and the per-repository selections. */
class SyncRun {
  readonly images: SyncedImage[] = []
  /** Per stored repository, the tags this run selected; undefined when its selection is not fully known (a listing failed). */
  readonly selections = new Map<string, Set<string> | undefined>()

  constructor(private readonly options: SyncOptions) {}

  report(image: SyncedImage): void {
    this.images.push(image)
    this.options.onImage?.finished(image)
  }

  fail(source: string, target: string, error: unknown): void {
    const { code, message } = asZregError(error)
    this.report({ source, target, status: 'failed', error: { code, message } })
  }

  /**
   * The images one entry of the file selects: every selector's refs, gathered per stored repository so
   * that keep-last applies to their union. A repository whose tags cannot be listed is reported failed.
   */
  async select(entry: SyncRegistry, client: RegistryClient): Promise<SyncJob[]> {
    const specs = selectors(entry)
    const groups = new Map<string, { base: RemoteReference; refs: Set<string> }>()
    for (const spec of specs) {
      const display = `${entry.registry}/${spec.repository}`
      let base: RemoteReference
      let repository: string
      try {
        base = parseRemoteReference(display)
        repository = targetRepository(entry, base, this.options.scoped ?? false)
      } catch (error) {
        this.fail(display, '', error)
        continue
      }
      try {
        const refs = spec.choose === undefined ? spec.refs : spec.choose(await client.tagList(base.repository))
        const group = groups.get(repository) ?? { base, refs: new Set<string>() }
        for (const ref of refs) group.refs.add(ref)
        groups.set(repository, group)
        if (!this.selections.has(repository)) this.selections.set(repository, new Set())
      } catch (error) {
        this.selections.set(repository, undefined)
        this.fail(display, repository, error)
      }
    }
    const jobs: SyncJob[] = []
    for (const [repository, { base, refs }] of groups) {
      const tags = [...refs].filter((ref) => !isDigest(ref))
      for (const tag of entry.keepLast === undefined ? tags : newestTags(tags, entry.keepLast)) {
        this.selections.get(repository)?.add(tag)
        jobs.push({ entry, client, ref: { registry: base.registry, repository: base.repository, tag }, repository })
      }
      for (const digest of [...refs].filter(isDigest)) jobs.push({ entry, client, ref: { registry: base.registry, repository: base.repository, digest }, repository })
    }
    return jobs
  }

  /** Stored tags of a mirrored repository that its (fully known) selection no longer names, failed images aside. */
  async unselected(store: Store): Promise<{ repository: string; tag: string }[]> {
    const failed = new Set(this.images.filter((image) => image.status === 'failed').map((image) => image.target))
    const unselected: { repository: string; tag: string }[] = []
    for (const ref of await store.refList()) {
      const selection = this.selections.get(ref.repository)
      if (ref.tag === undefined || selection === undefined || selection.has(ref.tag) || failed.has(`${ref.repository}:${ref.tag}`)) continue
      unselected.push({ repository: ref.repository, tag: ref.tag })
    }
    return unselected
  }
}

/** An entry's selectors: explicit refs, or (choose) a choice from the repository's tag list. */
function selectors(entry: SyncRegistry): { repository: string; refs: string[]; choose?: (tags: string[]) => string[] }[] {
  return [
    ...entry.images.map((image) => (image.refs.length === 0 ? { repository: image.repository, refs: [], choose: (tags: string[]) => tags } : { repository: image.repository, refs: image.refs })),
    ...entry.imagesByTagRegex.map((image) => ({ repository: image.repository, refs: [], choose: (tags: string[]) => tagsMatching(tags, image.pattern) })),
    ...entry.imagesBySemver.map((image) => ({ repository: image.repository, refs: [], choose: (tags: string[]) => tagsInSemverRange(tags, image.constraint) })),
  ]
}

/** What the images of one run share while they are mirrored. */
interface MirrorContext {
  /** The store's refs before the run: `repository:tag` (or `repository:digest`) -> digest. */
  stored: Map<string, string>
  /** Undefined for a dry run. */
  staging: StoreStaging | undefined
  transfers: TransferPool
  /** Commits one at a time. */
  commits: LimitFunction
  onImage: SyncEvents | undefined
}

/** Mirrors one image (or, in a dry run, compares its upstream digest with the store's) and says what happened. */
async function mirrorImage(job: SyncJob, context: MirrorContext): Promise<SyncedImage> {
  const source = formatRemoteReference(job.ref)
  const target = targetName(job)
  const storedDigest = context.stored.get(`${job.repository}:${job.ref.tag ?? job.ref.digest!}`)
  context.onImage?.started(target, `${source} -> ${target}`)
  const { staging } = context
  if (staging === undefined) {
    const head = job.ref.digest !== undefined ? { digest: job.ref.digest } : await job.client.manifestHead(job.ref.repository, job.ref.tag!)
    if (head === undefined) throw new ZregError('SOURCE_NOT_FOUND', `docker://${source}: no such manifest`)
    const unchanged = head.digest !== undefined && head.digest === storedDigest
    return { source, target, status: unchanged ? 'unchanged' : 'would-fetch', ...(head.digest ? { digest: head.digest } : {}) }
  }
  const image = new RegistryImages(job.client, job.ref, { ...(job.entry.withReferrers ? { withReferrers: true } : {}), ...context.transfers })
  let progress: IngestProgress = { blobs: 0, bytes: 0 }
  const result = await image.store(staging, {
    ...(job.entry.platforms?.length ? { platforms: job.entry.platforms } : {}),
    onProgress: (now) => {
      progress = now
      context.onImage?.bytes(target, now.bytes)
    },
  })
  const unchanged = result.descriptor.digest === storedDigest && progress.bytes === 0
  const refs: StoredRef[] = [
    job.ref.tag !== undefined ? { repository: job.repository, tag: job.ref.tag, descriptor: result.descriptor } : { repository: job.repository, descriptor: result.descriptor },
    ...(result.referrers ?? []).map((descriptor) => ({ repository: job.repository, descriptor })),
  ]
  if (!unchanged || refs.length > 1) await context.commits(() => staging.commit(refs, { keepOpen: true }))
  return { source, target, status: unchanged ? 'unchanged' : 'fetched', digest: result.descriptor.digest, blobs: progress.copied ?? 0, bytes: progress.bytes }
}

/**
 * Mirrors every image the sync file selects into the store (skopeo sync's YAML, see sync-file.ts).
 * Each image is committed on its own as soon as it is complete, so one failure stops nothing else; its
 * error is in the summary. Manifests and blobs already stored cost one manifest request per tag.
 * `store` may be undefined for a dry run where there is no store yet.
 */
export async function runSync(store: Store | undefined, registries: SyncRegistry[], options: SyncOptions = {}): Promise<SyncSummary> {
  if (store === undefined && !options.dryRun) throw new ZregError('INTERNAL', 'a sync that writes needs a store')
  const jobs = options.jobs ?? 8
  const run = new SyncRun(options)
  const clients: RegistryClient[] = []
  try {
    // 1. Connect and expand each entry's selection. A key that selects nothing (an anchor holder such
    // as `base: &base {...}`) is not contacted, as in skopeo.
    const selected: SyncJob[] = []
    for (const entry of registries.filter((candidate) => selectors(candidate).length > 0)) {
      let client: RegistryClient
      try {
        client = await connectRegistry({ registry: entry.registry, repository: '' }, {
          ...options.remote,
          ...(entry.credentials ? { creds: entry.credentials, credsSource: `the sync file's credentials of ${entry.registry}` } : {}),
          ...(entry.tlsVerify !== undefined ? { tlsVerify: entry.tlsVerify } : {}),
          ...(entry.certDir !== undefined ? { certDir: entry.certDir } : {}),
          jobs,
        })
      } catch (error) {
        run.fail(entry.registry, '', error)
        continue
      }
      clients.push(client)
      selected.push(...(await run.select(entry, client)))
    }

    // 2. Mirror: images in flight at once share one bound on downloads and one staging area.
    options.onImage?.planned(selected.length)
    const staging = options.dryRun ? undefined : await store!.stage()
    const context: MirrorContext = {
      stored: new Map((store === undefined ? [] : await store.refList()).map((ref) => [`${ref.repository}:${ref.tag ?? ref.descriptor.digest}`, ref.descriptor.digest])),
      staging,
      transfers: { limit: pLimit(jobs), inflight: new Map<Digest, Promise<void>>() },
      commits: pLimit(1),
      onImage: options.onImage,
    }
    const images = pLimit(jobs)
    try {
      await Promise.all(selected.map((job) => images(() => mirrorImage(job, context).then((image) => run.report(image), (error: unknown) => run.fail(formatRemoteReference(job.ref), targetName(job), error)))))
    } finally {
      await staging?.abort()
    }

    // 3. Prune (a dry run only lists).
    const pruned = options.prune && store !== undefined ? await run.unselected(store) : []
    if (pruned.length > 0 && !options.dryRun) await store!.refDelete(pruned)
    return { images: run.images, pruned, failed: run.images.filter((image) => image.status === 'failed').length }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}
