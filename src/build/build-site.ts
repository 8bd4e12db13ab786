import { rmSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { ZregError, type ErrorCode } from '../errors.js'
import { defaultPlatform, type Platform } from '../oci/platform.js'
import { defaultCacheMaxAge } from './cache-control.js'
import { makeDirectory } from '../store/atomic.js'
import { withLock } from '../store/lock.js'
import { treeCollisions } from '../oci/tree-collisions.js'
import { hasVersionedRefs, type RefReader, type StoredRef } from '../store/store.js'
import { planRepository, planSite, treeFormatVersion, type RepositoryEntry } from './plan.js'
import { groupByRepository, loadRepository, repositoryInput, type ManifestCache } from './site-model.js'
import { noRedirects, type RedirectRules } from './redirect-rules.js'
import { readRefsMemo, writeRefsMemo, type RefsMemo } from './refs-memo.js'
import { treePaths, type TreePaths } from './tree-paths.js'
import { buildPendingMarker, claimOut, liveState, writeTree, type LiveState, type WriteResult } from './write-tree.js'
import { repositoryTexts, writeRepository, type KeptTexts, type RepositoryTexts } from './write-repository.js'
import { pageLayout } from './catalog-page.js'

export interface BuildOptions {
  out: string
  /** What a tag naming an index serves to clients that accept no index (default linux/amd64). */
  defaultPlatform?: Platform
  /** Seconds caches may keep tags, tag lists and the catalog (default 60; 0: revalidate each time). */
  cacheMaxAge?: number
  /** The registry host the catalog page's pull commands name (`registry.example.com`); absent: the host the page is served from. */
  publicHost?: string
  /** Blobs answered with a redirect (to a CDN, to mirrors) instead of being held in the tree (redirect-rules.ts). */
  redirects?: RedirectRules
}

/** A repository a build left out, and why (the rest of the tree is built and swapped in). */
export interface SkippedRepository {
  repository: string
  reason: string
}

export interface BuildResult extends WriteResult {
  repositoriesWritten: number
  tags: number
  durationMs: number
  /** Repositories left out: names the tree cannot hold, or content that could not be written. */
  skipped: SkippedRepository[]
  /**
   * How the build found what to rebuild: `changes`, from the store's journal of the repositories
   * changed since the live generation (refs-memo.ts); `all`, by reading every reference.
   */
  surveyedBy: 'changes' | 'all'
}

/** Errors that mean one repository's content is missing or invalid in the store (not the machine's fault). */
const repositoryProblems: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BLOB_UNKNOWN',
  'MANIFEST_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_TOO_LARGE',
  'MANIFEST_BLOB_UNKNOWN',
  'CONFIG_INVALID',
  'DIGEST_INVALID',
  'SIZE_INVALID',
])

const noTags: ReadonlySet<string> = new Set()

/** Manifest summaries a build keeps at once (each about 1 KB): dropped all together when full. */
const manifestCacheLimit = 20_000

/**
 * Characters of repositories' map lines and page fragments a build keeps for writing the generation, so
 * it need not read back what it just wrote (10,000 tags: about 10 MB); past it, they are read back from
 * the files beside the directories (100,000 tags: 100 MB kept, or 3 reads per repository).
 */
const keptTextLimit = 32 * 1024 * 1024

/** Repositories whose names collide with another's files in the tree: the nested one is left out. */
function collidingRepositories(groups: Map<string, StoredRef[]>): Map<string, string> {
  // Only a repository others nest in can be in their way: only its tags are looked at.
  const enclosing = new Set<string>()
  for (const name of groups.keys()) {
    for (let slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) if (groups.has(name.slice(0, slash))) enclosing.add(name.slice(0, slash))
  }
  const tagsOf = (refs: StoredRef[]) => new Set(refs.flatMap((ref) => (ref.tag === undefined ? [] : [ref.tag])))
  const names = new Map([...groups].map(([name, refs]) => [name, enclosing.has(name) ? tagsOf(refs) : noTags]))
  const left = new Map<string, string>()
  for (const collision of treeCollisions(names)) if (!left.has(collision.repository)) left.set(collision.repository, collision.reason)
  return left
}

/** What a build has to do, found from the store's references and the live generation. */
interface Survey {
  /** Repositories the live generation holds as they are now. */
  entries: RepositoryEntry[]
  /** Repositories to read and plan, with their references. */
  changed: { name: string; input: string; refs: StoredRef[] }[]
  /** Repository name -> how many tags it has. */
  tagCounts: Map<string, number>
  skipped: SkippedRepository[]
  tags: number
}

/**
 * Sorts the store's references into repositories the live generation holds unchanged and ones to build.
 * Only changed repositories keep their references: the rest of a large index is garbage by the time the
 * build allocates more, so the collections that follow do not copy it (10,000 tags: about 5 MB).
 */
function survey(refs: StoredRef[], live: LiveState, salt: unknown): Survey {
  const groups = groupByRepository(refs)
  const colliding = collidingRepositories(groups)
  const result: Survey = { entries: [], changed: [], tagCounts: new Map(), skipped: [], tags: 0 }
  for (const [name, refs] of groups) {
    let count = 0
    for (const ref of refs) if (ref.tag !== undefined) count++
    result.tagCounts.set(name, count)
    const collision = colliding.get(name)
    if (collision !== undefined) {
      result.skipped.push({ repository: name, reason: collision })
      continue
    }
    result.tags += count
    const input = repositoryInput(name, refs, salt)
    const before = live.repositories.get(name)
    if (before && before.input === input && live.hasObject(before.key)) result.entries.push({ name, input, key: before.key })
    else result.changed.push({ name, input, refs })
  }
  return result
}

/**
 * The survey from the repositories changed since the live generation's memo (refs-memo.ts): the others
 * stand as the live generation holds them. Undefined when a repository was added (the names another's
 * files could be in the way of are no longer those the live build checked): survey every reference.
 */
function surveyChanges(changes: Map<string, StoredRef[]>, memo: RefsMemo, live: LiveState, salt: unknown): Survey | undefined {
  // The memo and the live generation name the same repositories (a generation of another format reads as none).
  if (memo.tags.size !== live.repositories.size) return undefined
  for (const name of memo.tags.keys()) if (!live.repositories.has(name)) return undefined
  for (const [name, refs] of changes) if (refs.length > 0 && !memo.tags.has(name)) return undefined
  const result: Survey = { entries: [], changed: [], tagCounts: new Map(memo.tags), skipped: [], tags: 0 }
  for (const [name, { input, key }] of live.repositories) if (!changes.has(name)) result.entries.push({ name, input, key })
  for (const [name, refs] of changes) {
    if (refs.length === 0) {
      result.tagCounts.delete(name)
      continue
    }
    result.tagCounts.set(name, refs.filter((ref) => ref.tag !== undefined).length)
    const input = repositoryInput(name, refs, salt)
    const before = live.repositories.get(name)
    if (before && before.input === input && live.hasObject(before.key)) result.entries.push({ name, input, key: before.key })
    else result.changed.push({ name, input, refs })
  }
  for (const count of result.tagCounts.values()) result.tags += count
  return result
}

/**
 * What to build, and the version of the store's index it comes from (for the next build's memo): from
 * the store's journal of changes when it keeps one and the live generation has a memo of its version,
 * else from every reference.
 */
async function surveyStore(store: RefReader, paths: TreePaths, live: LiveState, salt: unknown, saltText: string): Promise<{ survey: Survey; version: string | undefined; by: 'changes' | 'all' }> {
  if (!hasVersionedRefs(store)) return { survey: survey(await store.refList(), live, salt), version: undefined, by: 'all' }
  const memo = live.generation === undefined || live.recovering ? undefined : readRefsMemo(paths, live.generation, store.location, saltText)
  if (memo !== undefined) {
    const changes = store.refChangesSince(memo.version)
    const surveyed = changes && surveyChanges(changes.repositories, memo, live, salt)
    if (changes && surveyed) return { survey: surveyed, version: changes.version, by: 'changes' }
  }
  const { refs, version } = await store.versionedRefList()
  return { survey: survey(refs, live, salt), version, by: 'all' }
}

/**
 * Builds (or incrementally rebuilds) the static registry tree for everything in the store (or a stack
 * of stores: store-stack.ts). A repository whose references did not change since the live build is
 * neither read nor written again. One repository's problem (a name the tree cannot hold beside another's files, a missing blob) leaves
 * that repository out and is reported in `skipped`; it never stops the build of the others.
 */
export async function buildSite(store: RefReader, options: BuildOptions): Promise<BuildResult> {
  const started = performance.now()
  const platform = options.defaultPlatform ?? defaultPlatform
  const redirects = options.redirects ?? noRedirects
  const paths = treePaths(options.out)
  const former = await claimOut(paths)
  await makeDirectory(paths.objects)
  await makeDirectory(paths.generations)
  return withLock(paths.lock, async () => {
    const live = await liveState(paths)
    // From here until the old generations are dropped, a death leaves directories no generation names.
    writeFileSync(buildPendingMarker(paths), '')
    const salt = [treeFormatVersion, platform, redirects.rules]
    const saltText = JSON.stringify(salt)
    const { survey: found, version, by } = await surveyStore(store, paths, live, salt, saltText)
    const { entries, changed, tagCounts, skipped, tags: surveyed } = found
    // Tags of repositories left out below are not in the tree.
    let tags = surveyed
    const cache: ManifestCache = new Map()
    const built = { fresh: new Map<string, KeptTexts>(), tags: tagCounts }
    // A page past detailedTagsLimit shows no repository's fragment: none is kept, leaving the limit to
    // the map lines the generation needs (100,000 tags: the fragments were 30 of the 100 MB).
    const listed = pageLayout(options.publicHost, surveyed).shown === 'listed'
    let repositoriesWritten = 0
    let keptText = 0
    const keep = (name: string, input: string, key: string, texts: RepositoryTexts) => {
      entries.push({ name, input, key })
      const kept: KeptTexts = listed ? { nginxMap: texts.nginxMap, caddyMap: texts.caddyMap } : texts
      const size = kept.nginxMap.length + kept.caddyMap.length + (kept.page?.length ?? 0)
      if (keptText + size > keptTextLimit) return
      keptText += size
      built.fresh.set(key, kept)
    }
    // Popped as they are planned, so each repository's references are garbage once it is (100,000 tags: 60 MB).
    changed.reverse()
    for (let next = changed.pop(); next !== undefined; next = changed.pop()) {
      const { name, input, refs } = next
      // Manifests are shared across repositories only in part: a bounded cache keeps a large build's memory flat.
      if (cache.size > manifestCacheLimit) cache.clear()
      try {
        const plan = planRepository(await loadRepository(store, name, refs, cache), { defaultPlatform: platform, redirects })
        const texts = repositoryTexts(plan)
        if (!live.hasObject(plan.key)) {
          await writeRepository(store, paths, plan, texts)
          repositoriesWritten++
        }
        keep(name, input, plan.key, texts)
      } catch (error) {
        // The repository's own content is broken: leave it out. Anything else (a full disk, a denied
        // path, a bug) fails the build, and the last good tree stays live.
        if (!(error instanceof ZregError) || !repositoryProblems.has(error.code)) throw error
        skipped.push({ repository: name, reason: error.message })
        tags -= tagCounts.get(name) ?? 0
      }
    }
    const site = planSite(entries, {
      defaultPlatform: platform,
      cacheMaxAge: options.cacheMaxAge ?? defaultCacheMaxAge,
      ...(options.publicHost === undefined ? {} : { publicHost: options.publicHost }),
    })
    const { texts, ...written } = await writeTree(site, paths, live, built)
    const memo = version !== undefined && skipped.length === 0 ? { store: store.location, version, salt: saltText, tags: tagCounts } : undefined
    await writeRefsMemo(paths, written.generation, memo, texts)
    rmSync(buildPendingMarker(paths), { force: true })
    // A tree of the former layout: its builds directory beside `out` is no longer read.
    if (former !== undefined) await rm(former, { recursive: true, force: true })
    skipped.sort((a, b) => (a.repository < b.repository ? -1 : a.repository > b.repository ? 1 : 0))
    return { ...written, repositoriesWritten, tags, skipped, surveyedBy: by, durationMs: Math.round(performance.now() - started) }
  })
}
