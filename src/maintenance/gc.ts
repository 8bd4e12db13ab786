import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isDigest, type Digest } from '../oci/digest.js'
import { maxManifestBytes, parseManifest, referencedDescriptors, type Descriptor } from '../oci/manifest.js'
import { isManifest } from '../oci/media-types.js'
import { BlobLinks } from '../store/blob-links.js'
import { readClaims } from '../store/blob-claims.js'
import type { LayoutStore } from '../store/layout-store.js'
import { withLock } from '../store/lock.js'
import { thisProcessOwner } from '../store/process-owner.js'

export interface GcOptions {
  /** Say what a run would remove; remove nothing. */
  dryRun?: boolean
  /** Milliseconds: blobs written more recently are kept whatever refers to them (default one hour). */
  graceMs?: number
  /** Called at the two moments a writer's race can land in: after the mark, and with the candidates moved aside. */
  during?: { marked?(): Promise<void>; movedAside?(): Promise<void> }
}

export interface GcResult {
  dryRun: boolean
  /** The blobs removed (with dryRun: that a run now would remove), by digest. */
  removed: { digest: string; size: number }[]
  /** Bytes they held. */
  bytes: number
  /** Blobs kept: named by the index, claimed by a writer, pushed into a repository, or younger than the grace period. */
  kept: number
  /** Blobs moved aside, then put back: a writer came to rely on them while the sweep ran. */
  restored: number
  durationMs: number
}

/** One hour: what another tool (or an older zreg) writing into the store without claims has to finish a write. */
export const defaultGraceMs = 60 * 60 * 1000

/** Where a sweep moves its candidates before it removes them (on the store's file system, hidden). */
const sweepRoot = join('.zreg', 'gc')

/**
 * Every blob something keeps alive: whatever the index names, followed through manifests (an index's
 * children, an image's config and layers; referrers and untagged manifests are index entries of their
 * own), blobs pushed into a repository before any manifest names them (blob-links.ts), and blobs a
 * writer claimed (blob-claims.ts). A manifest that is missing or unreadable is followed no further
 * (`zreg verify` reports it).
 */
async function liveBlobs(store: LayoutStore, references: ManifestReferences): Promise<Set<string>> {
  const live = new Set<string>([...(await new BlobLinks(store.location).all()), ...(await readClaims(store.location))])
  const pending: Descriptor[] = (await store.refList()).map((ref) => ref.descriptor)
  const followed = new Set<string>()
  for (let next = pending.pop(); next; next = pending.pop()) {
    live.add(next.digest)
    if (followed.has(next.digest) || !isManifest(next.mediaType)) continue
    followed.add(next.digest)
    let named = references.get(next.digest)
    if (named === undefined) {
      try {
        named = referencedDescriptors(parseManifest(await store.blobBytes(next.digest, maxManifestBytes), next.mediaType, { validate: false }))
        references.set(next.digest, named)
      } catch {
        // Missing or unreadable: nothing to follow.
        continue
      }
    }
    pending.push(...named)
  }
  return live
}

/** Manifest digest -> what it names: manifests are content-addressed, so the look again reads none twice. */
type ManifestReferences = Map<string, Descriptor[]>

/** Puts back everything a sweep left moved aside (one that died: the gc lock is ours, so no other runs). */
async function restoreAbandoned(store: LayoutStore): Promise<number> {
  const root = join(store.location, sweepRoot)
  let restored = 0
  for (const sweep of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, sweep)).catch(() => [] as string[])) {
      restored += (await putBack(store, join(root, sweep, name), name.replace('-', ':') as Digest)) ? 1 : 0
    }
    await rm(join(root, sweep), { recursive: true, force: true })
  }
  return restored
}

/** Moves a blob back into place unless it is stored again meanwhile (same bytes: either copy is the blob). */
async function putBack(store: LayoutStore, moved: string, digest: Digest): Promise<boolean> {
  if (!isDigest(digest)) return false
  const path = store.blobPath(digest)
  if (existsSync(path)) return false
  await mkdir(join(path, '..'), { recursive: true })
  await rename(moved, path)
  return true
}

/**
 * Removes the blobs nothing keeps alive (liveBlobs), older than the grace period: mark, then sweep. Safe
 * while `zreg add`, `zreg sync` and push mode write: writers claim a stored blob before they rely on it
 * and the blobs they publish before the index names them, so the sweep first moves its candidates aside
 * (one rename each), then looks again at what is alive (the index, the links and the claims, read anew),
 * puts back what a writer came to rely on meanwhile, and only then removes the rest. A blob is missing
 * only for that moment, and only when a writer reached for a blob nothing named. One gc runs at a time
 * (a lock in the store); what a killed one moved aside is put back by the next.
 */
export async function collectGarbage(store: LayoutStore, options: GcOptions = {}): Promise<GcResult> {
  const started = performance.now()
  const dryRun = options.dryRun ?? false
  return withLock(join(store.location, '.zreg', 'gc.lock'), async () => {
    // A dry run writes nothing, so it leaves a dead sweep's blobs where they are (and does not count them).
    let restored = dryRun ? 0 : await restoreAbandoned(store)
    const references: ManifestReferences = new Map()
    const live = await liveBlobs(store, references)
    const cutoff = Date.now() - (options.graceMs ?? defaultGraceMs)
    const candidates: { digest: Digest; size: number; path: string }[] = []
    let kept = 0
    const blobs = join(store.location, 'blobs')
    for (const algorithm of await readdir(blobs).catch(() => [] as string[])) {
      for (const hex of await readdir(join(blobs, algorithm)).catch(() => [] as string[])) {
        const digest = `${algorithm}:${hex}`
        // A file that names no digest is none of the store's (a foreign tool's): left alone.
        if (!isDigest(digest)) continue
        const info = await stat(join(blobs, algorithm, hex)).catch(() => undefined)
        if (info === undefined) continue
        if (live.has(digest) || info.mtimeMs > cutoff) kept++
        else candidates.push({ digest, size: info.size, path: join(blobs, algorithm, hex) })
      }
    }
    const result = (removed: typeof candidates): GcResult => ({
      dryRun,
      removed: removed.map(({ digest, size }) => ({ digest, size })),
      bytes: removed.reduce((sum, blob) => sum + blob.size, 0),
      kept,
      restored,
      durationMs: Math.round(performance.now() - started),
    })
    if (dryRun || candidates.length === 0) return result(candidates)
    await options.during?.marked?.()
    const aside = join(store.location, sweepRoot, `${thisProcessOwner}-${randomBytes(4).toString('hex')}`)
    await mkdir(aside, { recursive: true })
    const moved: typeof candidates = []
    for (const candidate of candidates) {
      const target = join(aside, candidate.digest.replace(':', '-'))
      // Gone already (another tool, a push-mode blob DELETE): nothing to do.
      const done = await rename(candidate.path, target).then(
        () => true,
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
      )
      if (done) moved.push({ ...candidate, path: target })
    }
    await options.during?.movedAside?.()
    // What writers came to rely on while the candidates were moved aside goes back.
    const now = await liveBlobs(store, references)
    const removed: typeof candidates = []
    for (const blob of moved) {
      if (!now.has(blob.digest)) removed.push(blob)
      else {
        restored += (await putBack(store, blob.path, blob.digest)) ? 1 : 0
        kept++
      }
    }
    await rm(aside, { recursive: true, force: true })
    return result(removed)
  })
}
