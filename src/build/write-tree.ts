import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { lstat, readdir, readFile, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { ZregError } from '../errors.js'
import { MediaTypes } from '../oci/media-types.js'
import { formatPlatform } from '../oci/platform.js'
import { makeDirectory, tempPathBeside } from '../store/atomic.js'
import { liveTreeMarker, updateLiveTree } from './live-tree.js'
import { writeCaddyData } from './caddy.js'
import { pageContentType } from './catalog-page.js'
import { writeNginxData } from './nginx.js'
import type { HeaderEntry, SitePlan } from './plan.js'
import { metaDir, pageFile, type TreePaths } from './tree-paths.js'
import { assemblePage, publishPage, writePage, type PageInput } from './write-page.js'

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
 * It is small whatever the store's size: repositories are named, not copied.
 */
function writeGeneration(paths: TreePaths, plan: SitePlan, previous: string | undefined, page: Buffer[]): void {
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
    const site: SiteManifest = {
      format: 2,
      key: plan.key,
      defaultPlatform: formatPlatform(plan.defaultPlatform),
      cacheMaxAge: plan.cacheMaxAge,
      repositories: Object.fromEntries(plan.repositories.map((repository) => [repository.name, repository.key])),
      inputs: Object.fromEntries(plan.repositories.map((repository) => [repository.name, repository.input])),
      rootFiles,
    }
    writeFileSync(join(meta, 'site.json'), `${JSON.stringify(site)}\n`)
    // Error documents for servers that can only point at a file for what is missing (buckets, CDNs).
    mkdirSync(join(meta, 'errors'))
    for (const [code, message] of Object.entries(missingErrors)) {
      writeFileSync(join(meta, 'errors', `${code}.json`), JSON.stringify({ errors: [{ code, message }] }))
    }
    writeFileSync(join(meta, noReferrersFile), JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] }))
    const previousMeta = previous === undefined ? undefined : join(paths.generations, previous, metaDir)
    writeNginxData(meta, paths, plan, previousMeta)
    writeCaddyData(meta, paths, plan, previousMeta)
    renameSync(temp, final)
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

async function readSiteManifest(paths: TreePaths, generation: string): Promise<SiteManifest | undefined> {
  try {
    const site = JSON.parse(await readFile(join(paths.generations, generation, metaDir, 'site.json'), 'utf8')) as SiteManifest
    return site.format === 2 ? site : undefined
  } catch {
    return undefined
  }
}

/** What a build starts from: the live generation, its repositories, and the repository directories on disk. */
export interface LiveState {
  generation: string | undefined
  /** Repository name -> its input hash and directory in the live generation. */
  repositories: Map<string, { input: string; key: string }>
  /** Repository directories under objects/ (written whole: a directory's existence is its commit). */
  objects: Set<string>
}

/** Reads the live state once per build; empty before the first build. */
export async function liveState(paths: TreePaths): Promise<LiveState> {
  const generation = await currentGeneration(paths)
  const site = generation === undefined ? undefined : await readSiteManifest(paths, generation)
  const repositories = new Map<string, { input: string; key: string }>()
  for (const [name, key] of Object.entries(site?.repositories ?? {})) {
    const input = site?.inputs[name]
    if (input !== undefined) repositories.set(name, { input, key })
  }
  const objects = new Set((await readdir(paths.objects, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name))
  return { generation, repositories, objects }
}

/** Points `out/.zreg` at the generation's metadata with one atomic rename of a fresh (relative) symlink. */
export async function swapIn(paths: TreePaths, generation: string): Promise<void> {
  const temp = tempPathBeside(paths.current)
  await symlink(relative(paths.out, join(paths.generations, generation, metaDir)), temp)
  await rename(temp, paths.current)
}

/** How many generations stay: a server that polls for new builds may still be reading an older one. */
const generationsKept = 3

/** Keeps the newest generations (and the repository directories they use); drops the rest. */
async function removeOldGenerations(paths: TreePaths, live: string): Promise<void> {
  const generations = await readdir(paths.generations, { withFileTypes: true })
  const byAge = await Promise.all(
    generations
      .filter((entry) => entry.isDirectory() && entry.name !== live)
      .map(async (entry) => ({ name: entry.name, mtime: (await stat(join(paths.generations, entry.name))).mtimeMs })),
  )
  byAge.sort((a, b) => b.mtime - a.mtime)
  const keep = [live, ...byAge.slice(0, generationsKept - 1).map((entry) => entry.name)]
  const used = new Set<string>()
  for (const generation of keep) {
    for (const key of Object.values((await readSiteManifest(paths, generation))?.repositories ?? {})) used.add(key)
  }
  for (const entry of generations) {
    if (!keep.includes(entry.name)) await rm(join(paths.generations, entry.name), { recursive: true, force: true })
  }
  for (const name of await readdir(paths.objects)) {
    // A repository directory and the metadata beside it (<key>.headers.json, <key>.nginx.map, <key>.caddy.map).
    const key = name.split('.')[0]!
    if (!used.has(key)) await rm(join(paths.objects, name), { recursive: true, force: true })
  }
}

/**
 * Makes the tree at `out` match `site`, whose repository directories all exist under objects/ (the
 * caller wrote the new ones): brings the shared literal tree up to date, writes the generation and
 * swaps it in with one rename. The caller holds the build lock.
 */
export async function writeTree(site: SitePlan, paths: TreePaths, live: LiveState, page: PageInput): Promise<WriteResult> {
  const previous = live.generation
  const result = { out: paths.out, generation: site.key, repositories: site.repositories.length }
  if (previous === site.key && existsSync(join(paths.generations, site.key)) && !existsSync(liveTreeMarker(paths))) {
    return { ...result, changed: false }
  }
  const before = new Map([...live.repositories].map(([name, { key }]) => [name, key]))
  await updateLiveTree(paths, site.repositories, before, site.rootFiles)
  if (!existsSync(join(paths.generations, site.key))) writeGeneration(paths, site, previous, await assemblePage(paths, site, previous, page))
  await publishPage(paths, site.key)
  await swapIn(paths, site.key)
  await rm(liveTreeMarker(paths), { force: true })
  await removeOldGenerations(paths, site.key)
  return { ...result, changed: true }
}
