import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, rmdir, symlink } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import { ZregError } from '../errors.js'
import { formatPlatform } from '../oci/platform.js'
import { tempPathBeside } from '../store/atomic.js'
import { withLock } from '../store/lock.js'
import type { LocalBlobPaths, Store } from '../store/store.js'
import { hasLocalBlobPaths } from '../store/store.js'
import { nginxMapFiles, writeNginxConfig } from './nginx.js'
import { repositoryParts, type HeaderEntry, type RepositoryPlan, type SitePlan } from './plan.js'
import { metaDir, treePaths, type TreePaths } from './tree-paths.js'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'

/** The generation's description of itself: which repository directory each repository uses. */
export interface SiteManifest {
  format: 1
  key: string
  defaultPlatform: string
  repositories: Record<string, string>
  rootFiles: Record<string, HeaderEntry>
}

export interface WriteResult {
  out: string
  generation: string
  changed: boolean
  repositories: number
  repositoriesWritten: number
  files: number
}

/** Links a blob into the tree (no bytes copied); copies only when the store is on another file system. */
async function placeBlob(store: Store & Partial<LocalBlobPaths>, digest: string, target: string, optional: boolean): Promise<boolean> {
  if (hasLocalBlobPaths(store)) {
    const source = store.blobPath(digest as never)
    try {
      linkSync(source, target)
      return true
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') {
        if (optional) return false
        throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is referenced but not in the store; run \`zreg add\` for the image again`)
      }
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error
      copyFileSync(source, target)
      return true
    }
  }
  if ((await store.blobStat(digest as never)) === undefined) {
    if (optional) return false
    throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is referenced but not in the store`)
  }
  await pipeline(await store.blobRead(digest as never), createWriteStream(target))
  return true
}

/** Writes one repository's directory beside its final name, then renames it into place. */
async function writeRepository(store: Store, paths: TreePaths, plan: RepositoryPlan): Promise<void> {
  const final = join(paths.objects, plan.key)
  const temp = tempPathBeside(final)
  try {
    for (const part of repositoryParts) mkdirSync(join(temp, part), { recursive: true })
    const headers: Record<string, HeaderEntry> = {}
    for (const file of plan.files) {
      const target = join(temp, file.path)
      if ('text' in file.source) writeFileSync(target, file.source.text)
      else if (!(await placeBlob(store, file.source.blob, target, file.source.optional ?? false))) continue
      headers[file.path] = file.headers
    }
    writeFileSync(join(temp, 'headers.json'), JSON.stringify(headers))
    for (const [name, body] of Object.entries(nginxMapFiles(plan))) writeFileSync(join(temp, name), body)
    await rename(temp, final).catch(async (error: NodeJS.ErrnoException) => {
      // Another build wrote the same content-addressed directory first: theirs is identical.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
      await rm(temp, { recursive: true, force: true })
    })
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
}

/** Writes the generation: v2/ with one symlink per repository part into the shared directories. */
async function writeGeneration(paths: TreePaths, plan: SitePlan): Promise<string> {
  const final = join(paths.generations, plan.key)
  if (existsSync(final)) return final
  const temp = tempPathBeside(final)
  try {
    const rootFiles: Record<string, HeaderEntry> = {}
    for (const file of plan.rootFiles) {
      mkdirSync(join(temp, dirname(file.path)), { recursive: true })
      if ('text' in file.source) writeFileSync(join(temp, file.path), file.source.text)
      rootFiles[file.path] = file.headers
    }
    const repositories: Record<string, string> = {}
    for (const repository of plan.repositories) {
      const dir = join(temp, 'v2', repository.name)
      mkdirSync(dir, { recursive: true })
      for (const part of repositoryParts) {
        // Relative links keep the tree valid wherever the build directory is moved or mounted.
        symlinkSync(relative(dir, join(paths.objects, repository.key, part)), join(dir, part))
      }
      repositories[repository.name] = repository.key
    }
    const site: SiteManifest = { format: 1, key: plan.key, defaultPlatform: formatPlatform(plan.defaultPlatform), repositories, rootFiles }
    mkdirSync(join(temp, metaDir))
    writeFileSync(join(temp, metaDir, 'site.json'), `${JSON.stringify(site, null, 2)}\n`)
    await writeNginxConfig(join(temp, metaDir), paths, plan)
    renameSync(temp, final)
    return final
  } catch (error) {
    rmSync(temp, { recursive: true, force: true })
    throw error
  }
}

/** The generation `out` points at now, or undefined; refuses an `out` zreg did not make. */
async function currentGeneration(paths: TreePaths): Promise<string | undefined> {
  const info = await lstat(paths.out).catch(() => undefined)
  if (info === undefined) return undefined
  if (info.isSymbolicLink()) {
    const target = await readlink(paths.out)
    const absolute = join(dirname(paths.out), target)
    if (dirname(absolute) !== paths.generations) {
      throw new ZregError('OUT_INVALID', `${paths.out} is a link to ${target}, not to a zreg build`)
    }
    return basename(absolute)
  }
  if (info.isDirectory() && (await readdir(paths.out)).length === 0) {
    await rmdir(paths.out)
    return undefined
  }
  throw new ZregError('OUT_INVALID', `${paths.out} exists and is not a zreg build`)
}

/** Points `out` at the generation with one atomic rename of a fresh symlink. */
async function swapIn(paths: TreePaths, generation: string): Promise<void> {
  const temp = tempPathBeside(paths.out)
  await symlink(relative(dirname(paths.out), join(paths.generations, generation)), temp)
  await rename(temp, paths.out)
}

/** Keeps the live generation and the one before it (a server may still be reading it); drops the rest. */
async function removeOldGenerations(paths: TreePaths, keep: string[]): Promise<void> {
  const kept = new Set(keep)
  const live = new Set<string>()
  for (const generation of kept) {
    const site = JSON.parse(await readFile(join(paths.generations, generation, metaDir, 'site.json'), 'utf8')) as SiteManifest
    for (const key of Object.values(site.repositories)) live.add(key)
  }
  for (const name of await readdir(paths.generations)) {
    if (!kept.has(name)) await rm(join(paths.generations, name), { recursive: true, force: true })
  }
  for (const name of await readdir(paths.objects)) {
    if (!live.has(name)) await rm(join(paths.objects, name), { recursive: true, force: true })
  }
}

/**
 * Makes the tree at `out` match `plan`: repository directories that exist are reused as they are,
 * new ones are written beside, and the new generation is swapped in with one rename.
 */
export async function writeTree(store: Store, plan: SitePlan, out: string): Promise<WriteResult> {
  const paths = treePaths(out)
  await mkdir(paths.objects, { recursive: true })
  await mkdir(paths.generations, { recursive: true })
  return withLock(paths.lock, async () => {
    const previous = await currentGeneration(paths)
    const files = plan.rootFiles.length + plan.repositories.reduce((sum, repository) => sum + repository.files.length, 0)
    const result = { out: paths.out, generation: plan.key, repositories: plan.repositories.length, files }
    if (previous === plan.key && existsSync(join(paths.generations, plan.key))) {
      return { ...result, changed: false, repositoriesWritten: 0 }
    }
    const existing = new Set(await readdir(paths.objects))
    let repositoriesWritten = 0
    for (const repository of plan.repositories) {
      if (existing.has(repository.key)) continue
      await writeRepository(store, paths, repository)
      repositoriesWritten++
    }
    await writeGeneration(paths, plan)
    await swapIn(paths, plan.key)
    await removeOldGenerations(paths, previous ? [plan.key, previous] : [plan.key])
    return { ...result, changed: true, repositoriesWritten }
  })
}
