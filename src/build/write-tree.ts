import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { lstat, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { ZregError } from '../errors.js'
import { MediaTypes } from '../oci/media-types.js'
import { formatPlatform } from '../oci/platform.js'
import { makeDirectory, tempPathBeside } from '../store/atomic.js'
import { LiteralLayout, liveTreeMarker, updateLiveTree } from './live-tree.js'
import { readParsed, rememberParsed } from './parsed-files.js'
import { startRemoval } from './overlapped-removal.js'
import { writeCaddyData } from './caddy.js'
import { pageContentType } from './catalog-page.js'
import { planMapBuckets } from './map-buckets.js'
import { writeNginxData } from './nginx.js'
import type { HeaderEntry, RepositoryEntry, SitePlan } from './plan.js'
import { metaDir, pageFile, repositoryObjectPaths, type TreePaths } from './tree-paths.js'
import { assemblePage, publishPage, writePage, type PageInput } from './write-page.js'
import type { RepositoryTexts } from './write-repository.js'

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

/** The repository directories a generation uses (from its keys file, else its site manifest), or undefined for an unreadable one. */
function generationKeys(paths: TreePaths, generation: string): Iterable<string> | undefined {
  const keys = readParsed(keysPath(paths, generation), (path) => {
    try {
      const text = readFileSync(path, 'latin1')
      return text === '' ? [] : text.split('\n')
    } catch {
      return undefined
    }
  })
  return keys ?? readLiveSite(paths, generation)?.keys
}

/**
 * The text of a generation's site manifest (SiteManifest as JSON, one line). Made here rather than by
 * JSON.stringify of an object: its two maps have a key per repository, and objects of 10,000 keys
 * cost a one-tag rebuild more than the rest of this file's writing.
 */
function siteManifestText(plan: SitePlan, rootFiles: Record<string, HeaderEntry>): string {
  const map = (value: (repository: RepositoryEntry) => string) => plan.repositories.map((repository) => `${JSON.stringify(repository.name)}:${JSON.stringify(value(repository))}`).join(',')
  const head: Omit<SiteManifest, 'repositories' | 'inputs' | 'rootFiles'> = { format: 2, key: plan.key, defaultPlatform: formatPlatform(plan.defaultPlatform), cacheMaxAge: plan.cacheMaxAge }
  return `${JSON.stringify(head).slice(0, -1)},"repositories":{${map((repository) => repository.key)}},"inputs":{${map((repository) => repository.input)}},"rootFiles":${JSON.stringify(rootFiles)}}\n`
}

/** What a build knows of its repositories beyond the site plan. */
export interface BuiltRepositories extends PageInput {
  /**
   * Repository key -> what this build planned (repositories it read), as far as the build kept it in
   * memory: a repository missing here is read from the files beside its directory.
   */
  fresh: ReadonlyMap<string, RepositoryTexts>
}

/** The OCI error bodies a static tree answers with for what it does not hold. */
export const missingErrors: Record<string, string> = {
  MANIFEST_UNKNOWN: 'manifest unknown',
  BLOB_UNKNOWN: 'blob unknown to registry',
  NAME_UNKNOWN: 'repository name not known to registry',
  UNSUPPORTED: 'The operation is unsupported.',
}

/** What a server that can only point at a file answers for a digest nothing refers to (distribution-spec "Listing Referrers"). */
export const noReferrersFile = 'no-referrers.json'

/**
 * Writes a generation: the site manifest, copies of the root files, and the data the nginx and Caddy
 * configurations of `zreg server-config` include (no path in any of it: a copied tree serves the same).
 * It is small whatever the store's size: repositories are named, not copied. What its site manifest
 * and keys file hold stays in memory for the next build in this process (parsed-files.ts), with
 * `layout`, the literal tree's layout of its names.
 */
function writeGeneration(paths: TreePaths, plan: SitePlan, previous: string | undefined, page: Buffer[], fresh: ReadonlyMap<string, RepositoryTexts>, layout: LiteralLayout): void {
  const final = join(paths.generations, plan.key)
  if (existsSync(final)) return
  const temp = tempPathBeside(final)
  try {
    const meta = join(temp, metaDir)
    const rootFiles: Record<string, HeaderEntry> = {}
    for (const file of plan.rootFiles) {
      mkdirSync(dirname(join(meta, file.path)), { recursive: true })
      if ('text' in file.source) writeFileSync(join(meta, file.path), file.source.text)
      rootFiles[file.path] = file.headers
    }
    // The page goes with the generation, so zreg serve shows the page of the tree it serves.
    rootFiles[pageFile] = { contentType: pageContentType, length: writePage(join(meta, pageFile), page) }
    writeFileSync(join(meta, 'site.json'), siteManifestText(plan, rootFiles))
    // The directories it uses, one per line, for a later build's clean-up (site.json reads 2.5x slower).
    const keys = plan.repositories.map((repository) => repository.key)
    writeFileSync(join(temp, keysFile), keys.join('\n'))
    // Error documents for servers that can only point at a file for what is missing (buckets, CDNs).
    mkdirSync(join(meta, 'errors'))
    for (const [code, message] of Object.entries(missingErrors)) {
      writeFileSync(join(meta, 'errors', `${code}.json`), JSON.stringify({ errors: [{ code, message }] }))
    }
    writeFileSync(join(meta, noReferrersFile), JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] }))
    const previousMeta = previous === undefined ? undefined : join(paths.generations, previous, metaDir)
    const buckets = planMapBuckets(plan.repositories)
    writeNginxData(meta, paths, plan, previousMeta, buckets, fresh)
    writeCaddyData(meta, paths, plan, previousMeta, buckets, fresh)
    renameSync(temp, final)
    rememberParsed(keysPath(paths, plan.key), keys)
    const repositories = new Map<string, { input: string; key: string }>()
    for (const { name, input, key } of plan.repositories) repositories.set(name, { input, key })
    rememberParsed(sitePath(paths, plan.key), { repositories, keys: new Set(keys), layout } satisfies LiveSite)
  } catch (error) {
    rmSync(temp, { recursive: true, force: true })
    throw error
  }
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

/** What a build needs of a generation's site manifest: its repositories, the directories they use, and the literal tree's layout of their names when known. */
interface LiveSite {
  repositories: ReadonlyMap<string, { input: string; key: string }>
  keys: ReadonlySet<string>
  layout?: LiteralLayout
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
  /** Repository name -> its input hash and directory in the live generation (never changed: it may be shared with the next build). */
  repositories: ReadonlyMap<string, { input: string; key: string }>
  /** The literal tree's layout of the live generation's names, when this process knows it. */
  layout?: LiteralLayout
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
  return { generation, repositories: site?.repositories ?? new Map(), ...(site?.layout ? { layout: site.layout } : {}), recovering, hasObject }
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
function plannedRemovals(paths: TreePaths, next: string, nextKeys: Iterable<string>, live: LiveState): Removals {
  const names = readdirSync(paths.generations, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)
  // A temporary name (tempPathBeside's) is a generation a build died writing: builds hold the lock, so
  // none is being written now. It goes; it is never kept as one of the generations.
  const unfinished = names.filter((name) => name.startsWith('.'))
  const generations = names.filter((name) => !name.startsWith('.'))
  const known = new Map<string, Iterable<string>>([[next, nextKeys]])
  if (live.generation !== undefined && live.generation !== next) known.set(live.generation, Array.from(live.repositories.values(), (repository) => repository.key))
  const others = generations
    .filter((name) => !known.has(name))
    .map((name) => ({ name, mtime: statSync(join(paths.generations, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
  const keep = new Set([...known.keys(), ...others.slice(0, Math.max(0, generationsKept - known.size)).map((entry) => entry.name)])
  const used = new Set<string>()
  for (const generation of keep) {
    for (const key of known.get(generation) ?? generationKeys(paths, generation) ?? []) used.add(key)
  }
  let sweep = live.recovering
  const dropped = generations.filter((name) => !keep.has(name))
  const candidates = new Set<string>()
  for (const name of dropped) {
    const keys = sweep ? undefined : generationKeys(paths, name)
    if (keys === undefined) sweep = true
    else for (const key of keys) if (!used.has(key)) candidates.add(key)
  }
  const objects = sweep ? [] : [...candidates].flatMap((key) => repositoryObjectPaths(paths, key))
  return { paths: [...[...unfinished, ...dropped].map((name) => join(paths.generations, name)), ...objects], used, sweep }
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
export async function writeTree(site: SitePlan, paths: TreePaths, live: LiveState, built: BuiltRepositories): Promise<WriteResult> {
  const previous = live.generation
  const result = { out: paths.out, generation: site.key, repositories: site.repositories.length }
  if (previous === site.key && !live.recovering && existsSync(join(paths.generations, site.key)) && !existsSync(liveTreeMarker(paths))) {
    return { ...result, changed: false }
  }
  const removals = plannedRemovals(paths, site.key, site.repositories.map((repository) => repository.key), live)
  // While this thread writes: nothing removed is used by the live generation or the new one.
  const finishRemoval = startRemoval(removals.paths)
  try {
    const layout = await updateLiveTree(paths, site.repositories, live.repositories, site.rootFiles, live.layout)
    if (!existsSync(join(paths.generations, site.key))) writeGeneration(paths, site, previous, assemblePage(paths, site, previous, built), built.fresh, layout)
    await publishPage(paths, site.key)
    await swapIn(paths, site.key)
    await rm(liveTreeMarker(paths), { force: true })
  } catch (error) {
    // Never left running past the build (and its lock).
    await finishRemoval().catch(() => undefined)
    throw error
  }
  await finishRemoval()
  if (removals.sweep) sweepObjects(paths, removals.used)
  return { ...result, changed: true }
}
