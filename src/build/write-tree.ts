import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { lstat, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { ZregError } from '../errors.js'
import { MediaTypes } from '../oci/media-types.js'
import { formatPlatform } from '../oci/platform.js'
import { makeDirectory, tempPathBeside } from '../store/atomic.js'
import { LiteralLayout, liveTreeMarker, updateLiveTree } from './live-tree.js'
import { forgetParsed, readParsed, rememberParsed } from './parsed-files.js'
import { startRemoval } from './overlapped-removal.js'
import { writeCaddyData } from './caddy.js'
import { pageContentType } from './catalog-page.js'
import { generationTexts, joinedText, keysOf, type GenerationTexts } from './generation-texts.js'
import { mapBucketCount, planMapBuckets, type MapBucket } from './map-buckets.js'
import { writeNginxData } from './nginx.js'
import type { HeaderEntry, SitePlan } from './plan.js'
import { metaDir, pageFile, repositoryObjectPaths, type TreePaths } from './tree-paths.js'
import { assemblePage, publishPage, rememberPage, type AssembledPage, type PageInput } from './write-page.js'
import { linkedFile, writeFileParts } from './file-parts.js'
import type { KeptTexts } from './write-repository.js'

/** A generation's description of itself: what zreg serve and the server configurations read. */
export interface SiteManifest {
  format: 2
  key: string
  defaultPlatform: string
  /** Seconds caches may keep what a build can change (absent in trees built before it: the default). */
  cacheMaxAge?: number
  /** Repository name -> the directory (under objects/) holding its part of the tree. */
  repositories: Record<string, string>
  /** Repository name -> hash of its references, so the next build can skip it when unchanged. */
  inputs: Record<string, string>
  /** Files outside repositories (v2/_catalog, and the catalog page index.html), kept under .zreg/ in the generation. */
  rootFiles: Record<string, HeaderEntry>
}

export interface WriteResult {
  out: string
  generation: string
  changed: boolean
  repositories: number
}

/** Beside a generation's metadata: the repository directories it uses, one key per line. */
const keysFile = 'repository-keys.txt'

function keysPath(paths: TreePaths, generation: string): string {
  return join(paths.generations, generation, keysFile)
}

/** The repository directories a generation uses: from its keys file, or the texts it was written from (in the process that wrote it). */
type GenerationKeys = { keys: Iterable<string> } | { texts: GenerationTexts }

/** The repository directories a generation uses (from its keys file, else its site manifest), or undefined for an unreadable one. */
function generationKeys(paths: TreePaths, generation: string): GenerationKeys | undefined {
  const keys = readParsed(keysPath(paths, generation), (path): GenerationKeys | undefined => {
    try {
      // A key per line (builds before 2026-11 left the last line without its newline).
      return { keys: readFileSync(path, 'latin1').split('\n').filter((key) => key !== '') }
    } catch {
      return undefined
    }
  })
  if (keys !== undefined) return keys
  const site = readLiveSite(paths, generation)
  return site === undefined ? undefined : { keys: site.keys }
}

function keysIn(found: GenerationKeys): Iterable<string> {
  return 'keys' in found ? found.keys : keysOf(found.texts)
}

/**
 * The bytes of a generation's site manifest (SiteManifest as JSON, one line), its two maps (a key per
 * repository) in the order of `texts`' buckets: copied bucket by bucket from the last build's where
 * the repositories did not change (generation-texts.ts).
 */
function siteManifestParts(plan: SitePlan, rootFiles: Record<string, HeaderEntry>, texts: GenerationTexts): Buffer[] {
  const head: Omit<SiteManifest, 'repositories' | 'inputs' | 'rootFiles'> = { format: 2, key: plan.key, defaultPlatform: formatPlatform(plan.defaultPlatform), cacheMaxAge: plan.cacheMaxAge }
  return [
    Buffer.from(`${JSON.stringify(head).slice(0, -1)},"repositories":{`),
    ...joinedText(texts, 'repositories', comma),
    Buffer.from('},"inputs":{'),
    ...joinedText(texts, 'inputs', comma),
    Buffer.from(`},"rootFiles":${JSON.stringify(rootFiles)}}\n`),
  ]
}

const comma = Buffer.from(',')

/** What a build knows of its repositories beyond the site plan. */
export interface BuiltRepositories extends PageInput {
  /**
   * Repository key -> what this build planned (repositories it read), as far as the build kept it in
   * memory: a repository missing here is read from the files beside its directory.
   */
  fresh: ReadonlyMap<string, KeptTexts>
}

/** The OCI error bodies a static tree answers with: for what it does not hold, and (behind a host's Basic auth, zreg server-config --auth) to a client that must log in. */
export const errorMessages: Record<string, string> = {
  MANIFEST_UNKNOWN: 'manifest unknown',
  BLOB_UNKNOWN: 'blob unknown to registry',
  NAME_UNKNOWN: 'repository name not known to registry',
  UNSUPPORTED: 'The operation is unsupported.',
  UNAUTHORIZED: 'authentication required',
}

/** What a server that can only point at a file answers for a digest nothing refers to (distribution-spec "Listing Referrers"). */
export const noReferrersFile = 'no-referrers.json'

/**
 * Writes a generation: the site manifest, copies of the root files, and the data the nginx and Caddy
 * configurations of `zreg server-config` include (no path in any of it: a copied tree serves the same).
 * It is small whatever the store's size: repositories are named, not copied. What its site manifest
 * and keys file hold stays in memory for the next build in this process (parsed-files.ts), with
 * `layout`, the literal tree's layout of its names, and the texts it was written from. `live` is what
 * this process keeps of the live generation, if anything. Returns the texts.
 */
function writeGeneration(paths: TreePaths, plan: SitePlan, live: LiveState, page: AssembledPage, built: BuiltRepositories, layout: LiteralLayout): GenerationTexts {
  const final = join(paths.generations, plan.key)
  const temp = tempPathBeside(final)
  try {
    const meta = join(temp, metaDir)
    const rootFiles: Record<string, HeaderEntry> = {}
    for (const file of plan.rootFiles) {
      mkdirSync(dirname(join(meta, file.path)), { recursive: true })
      if ('text' in file.source) writeFileSync(join(meta, file.path), file.source.text)
      rootFiles[file.path] = file.headers
    }
    // The page goes with the generation, so zreg serve shows the page of the tree it serves: the live
    // generation's file when the page did not change (100,000 tags: 3 MB not written again).
    const livePage = page.same === undefined || live.generation === undefined ? undefined : join(paths.generations, live.generation, metaDir, pageFile)
    rootFiles[pageFile] = { contentType: pageContentType, length: (livePage === undefined ? undefined : linkedFile(livePage, join(meta, pageFile))) ?? writeFileParts(join(meta, pageFile), page.parts) }
    const buckets = plan.buckets ?? planMapBuckets(plan.repositories)
    const texts = generationTexts(mapBucketCount(plan.repositories.length), buckets, built.tags, live.texts)
    writeFileParts(join(meta, 'site.json'), siteManifestParts(plan, rootFiles, texts))
    // The directories it uses, one per line, for a later build's clean-up (site.json reads 2.5x slower).
    writeFileParts(join(temp, keysFile), joinedText(texts, 'keys'))
    // Error documents for servers that can only point at a file for what is missing (buckets, CDNs).
    mkdirSync(join(meta, 'errors'))
    for (const [code, message] of Object.entries(errorMessages)) {
      writeFileSync(join(meta, 'errors', `${code}.json`), JSON.stringify({ errors: [{ code, message }] }))
    }
    writeFileSync(join(meta, noReferrersFile), JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] }))
    const previousMeta = live.generation === undefined ? undefined : join(paths.generations, live.generation, metaDir)
    writeNginxData(meta, paths, plan, previousMeta, buckets, joinedText(texts, 'reposMap'), built.fresh)
    writeCaddyData(meta, paths, plan, previousMeta, buckets, built.fresh)
    renameSync(temp, final)
    const site = liveSiteOf(paths, plan, texts, live)
    rememberParsed(keysPath(paths, plan.key), { texts } satisfies GenerationKeys)
    rememberParsed(sitePath(paths, plan.key), { ...site, layout, texts } satisfies LiveSite)
    return texts
  } catch (error) {
    rmSync(temp, { recursive: true, force: true })
    throw error
  }
}

/**
 * The repositories and directories of a generation written from `texts`: the live generation's, taken
 * over and changed in the buckets that changed, when this process knows both; else made whole
 * (10,000 repositories: 9-11 ms, most of it fresh memory). Called once the new generation is written:
 * the live one's site manifest is read from its file again if it is needed after all.
 */
function liveSiteOf(paths: TreePaths, plan: SitePlan, texts: GenerationTexts, live: LiveState): { repositories: Map<string, { input: string; key: string }>; keys: Set<string> } {
  const before = live.texts
  if (live.generation === undefined || before === undefined || before.count !== texts.count || live.keys === undefined) {
    const repositories = new Map<string, { input: string; key: string }>()
    for (const { name, input, key } of plan.repositories) repositories.set(name, { input, key })
    return { repositories, keys: new Set(plan.repositories.map((repository) => repository.key)) }
  }
  forgetParsed(sitePath(paths, live.generation))
  const repositories = live.repositories as Map<string, { input: string; key: string }>
  const keys = live.keys as Set<string>
  for (let index = 0; index < texts.count; index++) {
    const was = before.buckets[index]
    const now = texts.buckets[index]
    if (was === now) continue
    for (const { name, key } of was?.bucket.members ?? []) {
      repositories.delete(name)
      keys.delete(key)
    }
    for (const { name, input, key } of now?.bucket.members ?? []) {
      repositories.set(name, { input, key })
      keys.add(key)
    }
  }
  return { repositories, keys }
}

/**
 * Makes `out` a directory a build may write: new, empty, or one a build made (it holds .zreg-builds).
 * A tree of the former layout (`out` a link to a generation in `.NAME.builds` beside it) is replaced:
 * the link goes now; the former builds directory is returned, to be removed once the new tree is live.
 * OUT_INVALID for anything else (a file, a foreign directory or link), before anything is written.
 */
export async function claimOut(paths: TreePaths): Promise<string | undefined> {
  const info = await lstat(paths.out).catch(() => undefined)
  if (info === undefined) {
    await makeDirectory(paths.out)
    return undefined
  }
  if (info.isSymbolicLink()) {
    const target = await readlink(paths.out)
    const former = join(dirname(paths.out), `.${basename(paths.out)}.builds`)
    if (dirname(dirname(resolve(dirname(paths.out), target))) !== former) {
      throw new ZregError('OUT_INVALID', `${paths.out} is a link to ${target}, not to a zreg build`)
    }
    // Another build may be converting it at the same moment: the link being gone already is no error.
    await unlink(paths.out).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
    })
    await makeDirectory(paths.out)
    return former
  }
  if (info.isDirectory() && (existsSync(paths.root) || (await readdir(paths.out)).length === 0)) return undefined
  throw new ZregError('OUT_INVALID', `${paths.out} exists and is not a zreg build`)
}

/** The generation the tree's \`.zreg\` link names now, or undefined before the first build. */
async function currentGeneration(paths: TreePaths): Promise<string | undefined> {
  const target = await readlink(paths.current).catch(() => undefined)
  if (target === undefined) return undefined
  const generation = dirname(resolve(paths.out, target))
  if (dirname(generation) !== paths.generations) throw new ZregError('OUT_INVALID', `${paths.current} is a link to ${target}, not to a zreg build`)
  return basename(generation)
}

function sitePath(paths: TreePaths, generation: string): string {
  return join(paths.generations, generation, metaDir, 'site.json')
}

/**
 * What a build needs of a generation's site manifest: its repositories and the directories they use;
 * in the process that wrote it, also the literal tree's layout of their names and the texts it was
 * written from.
 */
interface LiveSite {
  repositories: ReadonlyMap<string, { input: string; key: string }>
  keys: ReadonlySet<string>
  layout?: LiteralLayout
  texts?: GenerationTexts
}

/** A generation's site manifest (read synchronously: a file read on every build), or undefined for one of another format. */
function readLiveSite(paths: TreePaths, generation: string): LiveSite | undefined {
  return readParsed(sitePath(paths, generation), (path) => {
    try {
      const site = JSON.parse(readFileSync(path, 'utf8')) as SiteManifest
      if (site.format !== 2) return undefined
      const repositories = new Map<string, { input: string; key: string }>()
      for (const [name, key] of Object.entries(site.repositories)) {
        const input = site.inputs[name]
        if (input !== undefined) repositories.set(name, { input, key })
      }
      return { repositories, keys: new Set(Object.values(site.repositories)) }
    } catch {
      return undefined
    }
  })
}

/** What a build starts from: the live generation, its repositories, and whether the last build finished. */
export interface LiveState {
  generation: string | undefined
  /** Repository name -> its input hash and directory in the live generation (unchanged until the next generation is written, which may take it over: liveSiteOf). */
  repositories: ReadonlyMap<string, { input: string; key: string }>
  /** The repository directories the live generation uses (absent before the first build). */
  keys?: ReadonlySet<string>
  /** The literal tree's layout of the live generation's names, and the texts it was written from, when this process wrote it. */
  layout?: LiteralLayout
  texts?: GenerationTexts
  /** The last build died part way (its marker is still there): this one checks what it would otherwise trust. */
  recovering: boolean
  /** Whether repository directory `key` is under objects/ (written whole: a directory's existence is its commit). */
  hasObject(key: string): boolean
}

/**
 * Present while a build may be adding to objects/ or removing from it: a build that finds it knows the
 * last one died part way, and sweeps objects/ of whatever no kept generation uses.
 */
export function buildPendingMarker(paths: TreePaths): string {
  return join(paths.root, 'build.pending')
}

/**
 * Reads the live state once per build; empty before the first build. The live generation's directories
 * are trusted to exist (a generation is written after them, and they are kept as long as it is), so a
 * rebuild lists objects/ only after one that died.
 */
export async function liveState(paths: TreePaths): Promise<LiveState> {
  const generation = await currentGeneration(paths)
  const site = generation === undefined ? undefined : readLiveSite(paths, generation)
  const recovering = existsSync(buildPendingMarker(paths))
  // A first build asks about every repository: one listing costs less than a check for each.
  const listed = recovering || site === undefined ? new Set(readdirSync(paths.objects, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)) : undefined
  const hasObject = (key: string) => (listed === undefined ? site?.keys.has(key) === true || existsSync(join(paths.objects, key)) : listed.has(key))
  return {
    generation,
    repositories: site?.repositories ?? new Map(),
    ...(site ? { keys: site.keys } : {}),
    ...(site?.layout ? { layout: site.layout } : {}),
    ...(site?.texts ? { texts: site.texts } : {}),
    recovering,
    hasObject,
  }
}

/** Points `out/.zreg` at the generation's metadata with one atomic rename of a fresh (relative) symlink. */
export async function swapIn(paths: TreePaths, generation: string): Promise<void> {
  const temp = tempPathBeside(paths.current)
  await symlink(relative(paths.out, join(paths.generations, generation, metaDir)), temp)
  await rename(temp, paths.current)
}

/** How many generations stay: a server that polls for new builds may still be reading an older one. */
const generationsKept = 3

/** What a build removes: the generations past the kept ones, and the repository directories only they use. */
interface Removals {
  /** Generation directories and objects/ entries to remove. */
  paths: string[]
  /** Repository directories the kept generations use. */
  used: Set<string>
  /** List objects/ whole after the swap (see plannedRemovals). */
  sweep: boolean
}

/**
 * What a build that makes `next` (using repository directories `nextKeys`) live removes. Known before
 * anything is written, so the removal runs on the thread pool while the build writes. Keeps `next`, the
 * live generation and the newest others up to `generationsKept`; reads the site manifests of the others
 * only. `sweep` (after a build that died, or with a generation that cannot be read): objects/ is listed
 * whole once the new generation is live, so what no kept generation uses goes, half-written
 * directories included.
 */
function plannedRemovals(paths: TreePaths, next: SitePlan, live: LiveState): Removals {
  const names = readdirSync(paths.generations, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)
  // A temporary name (tempPathBeside's) is a generation a build died writing: builds hold the lock, so
  // none is being written now. It goes; it is never kept as one of the generations.
  const unfinished = names.filter((name) => name.startsWith('.'))
  const generations = names.filter((name) => !name.startsWith('.'))
  const known = new Set([next.key, ...(live.generation === undefined ? [] : [live.generation])])
  const others = generations
    .filter((name) => !known.has(name))
    .map((name) => ({ name, mtime: statSync(join(paths.generations, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
  const keep = new Set([...known, ...others.slice(0, Math.max(0, generationsKept - known.size)).map((entry) => entry.name)])
  const dropped = generations.filter((name) => !keep.has(name))
  const generationPaths = [...unfinished, ...dropped].map((name) => join(paths.generations, name))
  const quick = live.recovering ? undefined : bucketRemovals(paths, next, live, [...keep], dropped)
  if (quick !== undefined) return { paths: [...generationPaths, ...quick.flatMap((key) => repositoryObjectPaths(paths, key))], used: new Set(), sweep: false }
  const used = new Set<string>()
  for (const generation of keep) {
    const found = generation === next.key ? { keys: next.repositories.map((repository) => repository.key) } : generation === live.generation && live.keys !== undefined ? { keys: live.keys } : generationKeys(paths, generation)
    for (const key of found === undefined ? [] : keysIn(found)) used.add(key)
  }
  let sweep = live.recovering
  const candidates = new Set<string>()
  for (const name of dropped) {
    const found = sweep ? undefined : generationKeys(paths, name)
    if (found === undefined) sweep = true
    else for (const key of keysIn(found)) if (!used.has(key)) candidates.add(key)
  }
  const objects = sweep ? [] : [...candidates].flatMap((key) => repositoryObjectPaths(paths, key))
  return { paths: [...generationPaths, ...objects], used, sweep }
}

/**
 * The repository directories only `dropped` generations use, found bucket by bucket when this process
 * wrote every generation involved (their texts are in memory, split alike): a bucket equal to one of
 * a kept generation is skipped whole, so a rebuild that changed one repository compares one bucket,
 * not every key of four generations (10,000 repositories: 10-15 ms). Undefined otherwise.
 */
function bucketRemovals(paths: TreePaths, next: SitePlan, live: LiveState, keep: string[], dropped: string[]): string[] | undefined {
  const buckets = next.buckets
  if (buckets === undefined || dropped.length === 0) return dropped.length === 0 ? [] : undefined
  const count = mapBucketCount(next.repositories.length)
  const textsOf = (generation: string): GenerationTexts | undefined => {
    if (generation === live.generation) return live.texts
    const found = readParsed(keysPath(paths, generation), () => undefined as GenerationKeys | undefined)
    return found !== undefined && 'texts' in found ? found.texts : undefined
  }
  const kept = keep.filter((generation) => generation !== next.key).map(textsOf)
  const gone = dropped.map(textsOf)
  if ([...kept, ...gone].some((texts) => texts?.count !== count)) return undefined
  const nextAt: (MapBucket | undefined)[] = Array.from({ length: count }, () => undefined)
  for (const bucket of buckets) nextAt[bucket.index] = bucket
  const only = new Set<string>()
  for (let index = 0; index < count; index++) {
    const keptHere = [nextAt[index], ...kept.map((texts) => texts!.buckets[index]?.bucket)]
    for (const texts of gone) {
      const bucket = texts!.buckets[index]?.bucket
      if (bucket === undefined || keptHere.some((other) => other?.hash === bucket.hash)) continue
      const used = new Set(keptHere.flatMap((other) => other?.members.map((member) => member.key) ?? []))
      for (const { key } of bucket.members) if (!used.has(key)) only.add(key)
    }
  }
  return [...only]
}

/** Removes what no kept generation uses from objects/: repository directories, the files beside them (<key>.headers.json, ...), temporary directories. */
function sweepObjects(paths: TreePaths, used: Set<string>): void {
  for (const name of readdirSync(paths.objects)) if (!used.has(name.split('.')[0]!)) rmSync(join(paths.objects, name), { recursive: true, force: true })
}

/**
 * Makes the tree at `out` match `site`, whose repository directories all exist under objects/ (the
 * caller wrote the new ones): brings the shared literal tree up to date, writes the generation and
 * swaps it in with one rename. The caller holds the build lock.
 */
export async function writeTree(site: SitePlan, paths: TreePaths, live: LiveState, built: BuiltRepositories): Promise<WriteResult & { texts?: GenerationTexts }> {
  const previous = live.generation
  const result = { out: paths.out, generation: site.key, repositories: site.repositories.length }
  if (previous === site.key && !live.recovering && existsSync(join(paths.generations, site.key)) && !existsSync(liveTreeMarker(paths))) {
    return { ...result, changed: false }
  }
  // Before anything is removed: a removed link to the live page changes its file's identity, and the
  // page would be read again rather than taken from memory (parsed-files.ts).
  const page = existsSync(join(paths.generations, site.key)) ? undefined : assemblePage(paths, site, previous, built)
  const removals = plannedRemovals(paths, site, live)
  // While this thread writes: nothing removed is used by the live generation or the new one.
  const finishRemoval = startRemoval(removals.paths)
  let texts: GenerationTexts | undefined
  try {
    const layout = await updateLiveTree(paths, site.repositories, live.repositories, site.rootFiles, live.layout)
    if (page !== undefined) texts = writeGeneration(paths, site, live, page, built, layout)
    await publishPage(paths, site.key)
    await swapIn(paths, site.key)
    await rm(liveTreeMarker(paths), { force: true })
  } catch (error) {
    // Never left running past the build (and its lock).
    await finishRemoval().catch(() => undefined)
    throw error
  }
  await finishRemoval()
  // Kept once linked into place and its older links removed: each changes the file's identity (parsed-files.ts).
  if (page !== undefined) rememberPage(join(paths.generations, site.key, metaDir, pageFile), page)
  if (removals.sweep) sweepObjects(paths, removals.used)
  return { ...result, changed: true, ...(texts ? { texts } : {}) }
}
