import pLimit from 'p-limit'
import { asZregError, ZregError } from '../errors.js'
import type { Digest } from '../oci/digest.js'
import { isDigest } from '../oci/digest.js'
import { connectRegistry, RegistryImages, scopedRepository, type RemoteOptions } from '../ingest/registry-source.js'
import type { IngestProgress } from '../ingest/copy-image.js'
import type { RegistryClient } from '../remote/registry-client.js'
import { formatRemoteReference, parseRemoteReference, type RemoteReference } from '../remote/remote-reference.js'
import type { Store, StoredRef } from '../store/store.js'
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

/** One image to mirror: where it comes from and the name it is stored under. */
interface SyncJob {
  registry: SyncRegistry
  ref: RemoteReference
  target: { repository: string; tag?: string; digest?: Digest }
}

function targetRepository(entry: SyncRegistry, ref: RemoteReference, scoped: boolean): string {
  const base = scoped ? scopedRepository(ref.registry, ref.repository) : ref.repository
  if (entry.prefix === undefined || entry.prefix === '') return base
  return `${entry.prefix.replace(/\/+$/, '')}/${base}`
}

function formatTarget(target: SyncJob['target']): string {
  return target.tag !== undefined ? `${target.repository}:${target.tag}` : `${target.repository}@${target.digest!}`
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
  const images: SyncedImage[] = []
  const report = (image: SyncedImage) => {
    images.push(image)
    options.onImage?.finished(image)
  }
  const fail = (source: string, target: string, error: unknown) => {
    const { code, message } = asZregError(error)
    report({ source, target, status: 'failed', error: { code, message } })
  }
  const clients: RegistryClient[] = []
  /** Per stored repository, the tags this run selected; undefined when its selection is not fully known (a listing failed). */
  const selections = new Map<string, Set<string> | undefined>()
  const allJobs: { job: SyncJob; client: RegistryClient }[] = []
  try {
    // 1. Connect and expand each entry's selection into jobs.
    for (const entry of registries) {
      const specs = [
        ...entry.images.map((image) => ({ repository: image.repository, listed: image.refs.length === 0, refs: image.refs, choose: (tags: string[]) => tags })),
        ...entry.imagesByTagRegex.map((image) => ({ repository: image.repository, listed: true, refs: [], choose: (tags: string[]) => tagsMatching(tags, image.pattern) })),
        ...entry.imagesBySemver.map((image) => ({ repository: image.repository, listed: true, refs: [], choose: (tags: string[]) => tagsInSemverRange(tags, image.constraint) })),
      ]
      // A key that selects nothing (an anchor holder such as `base: &base {...}`) is not contacted, as in skopeo.
      if (specs.length === 0) continue
      let client: RegistryClient
      try {
        client = await connectRegistry({ registry: entry.registry, repository: '' } as RemoteReference, {
          ...options.remote,
          ...(entry.credentials ? { creds: entry.credentials, credsSource: `the sync file's credentials of ${entry.registry}` } : {}),
          ...(entry.tlsVerify !== undefined ? { tlsVerify: entry.tlsVerify } : {}),
          ...(entry.certDir !== undefined ? { certDir: entry.certDir } : {}),
          jobs,
        })
        clients.push(client)
      } catch (error) {
        fail(entry.registry, '', error)
        continue
      }
      // Every selector's refs, per stored repository: keep-last applies to their union.
      const groups = new Map<string, { base: RemoteReference; refs: Set<string> }>()
      for (const spec of specs) {
        const display = `${entry.registry}/${spec.repository}`
        let base: RemoteReference
        let repository: string
        try {
          base = parseRemoteReference(display)
          repository = targetRepository(entry, base, options.scoped ?? false)
        } catch (error) {
          fail(display, '', error)
          continue
        }
        try {
          const refs = spec.listed ? spec.choose(await client.tagList(base.repository)) : spec.refs
          const group = groups.get(repository) ?? { base, refs: new Set<string>() }
          for (const ref of refs) group.refs.add(ref)
          groups.set(repository, group)
          if (!selections.has(repository)) selections.set(repository, new Set())
        } catch (error) {
          selections.set(repository, undefined)
          fail(display, repository, error)
        }
      }
      for (const [repository, { base, refs }] of groups) {
        const digests = [...refs].filter((ref) => isDigest(ref))
        const tags = [...refs].filter((ref) => !isDigest(ref))
        for (const ref of [...(entry.keepLast === undefined ? tags : newestTags(tags, entry.keepLast)), ...digests]) {
          const digest = isDigest(ref) ? ref : undefined
          const tag = digest === undefined ? ref : undefined
          if (tag !== undefined) selections.get(repository)?.add(tag)
          allJobs.push({
            client,
            job: {
              registry: entry,
              ref: { registry: base.registry, repository: base.repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) },
              target: { repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) },
            },
          })
        }
      }
    }

    // 2. Mirror: images in flight at once share one bound on downloads and one staging area.
    options.onImage?.planned(allJobs.length)
    const stored = new Map((store === undefined ? [] : await store.refList()).map((ref) => [`${ref.repository}:${ref.tag ?? ref.descriptor.digest}`, ref.descriptor.digest]))
    const imageLimit = pLimit(jobs)
    const transfers = { limit: pLimit(jobs), inflight: new Map<Digest, Promise<void>>() }
    const commits = pLimit(1)
    const staging = options.dryRun ? undefined : await store!.stage()
    try {
      await Promise.all(
        allJobs.map(({ job, client }) =>
          imageLimit(async () => {
            const source = formatRemoteReference(job.ref)
            const target = formatTarget(job.target)
            const storedDigest = stored.get(`${job.target.repository}:${job.target.tag ?? job.target.digest!}`)
            options.onImage?.started(target, `${source} -> ${target}`)
            try {
              if (staging === undefined) {
                const head = job.ref.digest !== undefined ? { digest: job.ref.digest } : await client.manifestHead(job.ref.repository, job.ref.tag!)
                if (head === undefined) throw new ZregError('SOURCE_NOT_FOUND', `docker://${source}: no such manifest`)
                const unchanged = head.digest !== undefined && head.digest === storedDigest
                report({ source, target, status: unchanged ? 'unchanged' : 'would-fetch', ...(head.digest ? { digest: head.digest } : {}) })
                return
              }
              const image = new RegistryImages(client, job.ref, { ...(job.registry.withReferrers ? { withReferrers: true } : {}), ...transfers })
              let progress: IngestProgress = { blobs: 0, bytes: 0 }
              const result = await image.store(staging, {
                ...(job.registry.platforms?.length ? { platforms: job.registry.platforms } : {}),
                onProgress: (now) => {
                  progress = now
                  options.onImage?.bytes(target, now.bytes)
                },
              })
              const unchanged = result.descriptor.digest === storedDigest && progress.bytes === 0
              const refs: StoredRef[] = [
                job.target.tag !== undefined ? { repository: job.target.repository, tag: job.target.tag, descriptor: result.descriptor } : { repository: job.target.repository, descriptor: result.descriptor },
                ...(result.referrers ?? []).map((descriptor) => ({ repository: job.target.repository, descriptor })),
              ]
              if (!unchanged || refs.length > 1) await commits(() => staging.commit(refs, { keepOpen: true }))
              report({ source, target, status: unchanged ? 'unchanged' : 'fetched', digest: result.descriptor.digest, blobs: progress.copied ?? 0, bytes: progress.bytes })
            } catch (error) {
              fail(source, target, error)
            }
          }),
        ),
      )
    } finally {
      await staging?.abort()
    }

    // 3. Prune: tags of a mirrored repository that its (fully known) selection no longer names; a dry run lists them.
    const pruned: { repository: string; tag: string }[] = []
    if (options.prune && store !== undefined) {
      const failedTargets = new Set(images.filter((image) => image.status === 'failed').map((image) => image.target))
      for (const ref of await store.refList()) {
        const selection = selections.get(ref.repository)
        if (ref.tag === undefined || selection === undefined || selection.has(ref.tag) || failedTargets.has(`${ref.repository}:${ref.tag}`)) continue
        pruned.push({ repository: ref.repository, tag: ref.tag })
      }
      if (pruned.length > 0 && !options.dryRun) await store.refDelete(pruned)
    }
    return { images, pruned, failed: images.filter((image) => image.status === 'failed').length }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}
