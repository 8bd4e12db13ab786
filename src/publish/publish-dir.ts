import { existsSync } from 'node:fs'
import { copyFile, link, lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { liveTreeMarker, updateLiveTree } from '../build/live-tree.js'
import type { PlannedFile, RepositoryEntry, SitePlan } from '../build/plan.js'
import { metaDir, treePaths, type TreePaths } from '../build/tree-paths.js'
import { claimOut, swapIn, type SiteManifest } from '../build/write-tree.js'
import { systemError, ZregError } from '../errors.js'
import { parsePlatform } from '../oci/platform.js'
import { tempPathBeside } from '../store/atomic.js'
import { withLock } from '../store/lock.js'
import type { PublishAction, PublishOptions, PublishSummary } from './publish-result.js'
import { readLiveSite, type PublishPlan } from './tree-plan.js'

export interface CopyCounts {
  uploaded: number
  copied: number
  bytes: number
}

/** Places `from` at `to`: a hard link on the same file system (no bytes copied), else a copy. */
async function placeFile(from: string, to: string, counts: CopyCounts): Promise<void> {
  try {
    await link(from, to)
    counts.copied++
    return
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error
  }
  await copyFile(from, to)
  counts.uploaded++
  counts.bytes += (await stat(from)).size
}

/** Copies directory `from` to a fresh directory `to`, files placed by placeFile. */
async function copyDirectory(from: string, to: string, counts: CopyCounts): Promise<void> {
  await mkdir(to)
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isDirectory()) await copyDirectory(join(from, entry.name), join(to, entry.name), counts)
    else await placeFile(join(from, entry.name), join(to, entry.name), counts)
  }
}

/** Copies file `from` to `to` by temp and rename, so a reader sees the old file or the new one. */
export async function copyFileAtomic(from: string, to: string, counts: CopyCounts): Promise<void> {
  const temp = tempPathBeside(to)
  try {
    await placeFile(from, temp, counts)
    await rename(temp, to)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}

/** Writes directory `to` whole: filled beside its final name, then renamed into place. */
async function commitDirectory(to: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const temp = tempPathBeside(to)
  try {
    await fill(temp)
    await rename(temp, to)
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
}

/** The generation's plan as the live tree's writer wants it, from its site.json and root files. */
async function sitePlanOf(site: SiteManifest, meta: string): Promise<SitePlan> {
  const repositories: RepositoryEntry[] = Object.entries(site.repositories).map(([name, key]) => ({ name, key, input: site.inputs[name] ?? '' }))
  const rootFiles: PlannedFile[] = []
  for (const [path, headers] of Object.entries(site.rootFiles)) rootFiles.push({ path, source: { text: await readFile(join(meta, path), 'utf8') }, headers })
  return { repositories, rootFiles, defaultPlatform: parsePlatform(site.defaultPlatform), cacheMaxAge: site.cacheMaxAge ?? 60, key: site.key }
}

/** Repository keys and generations in the target that the live generation does not use. */
async function unused(target: TreePaths, site: SiteManifest): Promise<string[]> {
  const keys = new Set(Object.values(site.repositories))
  const found: string[] = []
  for (const name of await readdir(target.generations).catch(() => [])) if (name !== site.key) found.push(join(target.generations, name))
  // A repository directory, the metadata beside it (<key>.headers.json, <key>.nginx.map, ...), or a temp left by a killed publish.
  for (const name of await readdir(target.objects).catch(() => [])) if (!keys.has(name.split('.')[0]!)) found.push(join(target.objects, name))
  return found.sort()
}

/**
 * Publishes the built tree to directory `path` (another disk, a mount), which then serves exactly as
 * the original: repository directories the target lacks are copied whole (they are named by content,
 * so one already there is the same), then the generation, then the literal tree `v2/` is brought up to
 * date link by link and `.zreg` swapped by one rename, as zreg build does. Files are hard links when on
 * the same file system, else copies. Killed at any point, the target serves the previous tree; a rerun
 * finishes. With `delete`, generations and repository directories the live one does not use go last.
 * Errors: OUT_INVALID (the directory is not a zreg tree), system errors naming the path.
 */
export async function publishToDirectory(plan: PublishPlan, path: string, options: PublishOptions = {}): Promise<PublishSummary> {
  const started = performance.now()
  const target = treePaths(path)
  const summary: PublishSummary = { target: `dir:${target.out}`, dryRun: options.dryRun ?? false, uploaded: 0, copied: 0, skipped: 0, deleted: 0, bytes: 0, seconds: 0 }
  const { site, paths: source } = plan
  const sourceMeta = await realpath(source.current)
  if (target.out === source.out || (await realpath(target.out).catch(() => undefined)) === (await realpath(source.out))) {
    throw new ZregError('PUBLISH_TARGET_INVALID', `dir:${path} is the tree being published; name another directory`)
  }
  const keys = [...new Set(Object.values(site.repositories))].sort()
  const missing = keys.filter((key) => !existsSync(join(target.objects, key)))
  const fileCount = (key: string) => plan.objects.filter((object) => object.file.startsWith(`${join(source.objects, key)}/`)).length
  summary.skipped = keys.filter((key) => !missing.includes(key)).reduce((sum, key) => sum + fileCount(key), 0)
  if (options.dryRun) {
    const actions: PublishAction[] = []
    for (const key of missing) {
      // Every file of the directory, as the copy takes them (hidden ones too: Apache's manifests/.htaccess).
      const dir = join(source.objects, key)
      for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue
        const file = join(entry.parentPath, entry.name)
        const bytes = (await stat(file)).size
        actions.push({ action: 'upload', key: `.zreg-builds/objects/${key}/${file.slice(dir.length + 1)}`, bytes })
        summary.uploaded++
        summary.bytes += bytes
      }
    }
    const page = join(source.out, 'index.html')
    if (existsSync(page)) {
      actions.push({ action: 'upload', key: 'index.html', bytes: (await stat(page)).size })
      summary.uploaded++
      summary.bytes += actions.at(-1)!.bytes
    }
    if (options.delete && existsSync(join(target.root))) {
      for (const file of await unused(target, site)) actions.push({ action: 'delete', key: file.slice(target.out.length + 1), bytes: 0 })
      summary.deleted = actions.filter((action) => action.action === 'delete').length
    }
    return { ...summary, actions, seconds: (performance.now() - started) / 1000 }
  }
  try {
    await claimOut(target).catch((error: unknown) => {
      if (error instanceof ZregError && error.code === 'OUT_INVALID') {
        throw new ZregError('PUBLISH_TARGET_INVALID', `dir:${path} exists and holds something other than a zreg tree; name a new or empty directory, or one zreg publish or zreg build wrote`, { cause: error })
      }
      throw error
    })
    await mkdir(target.objects, { recursive: true })
    await mkdir(target.generations, { recursive: true })
    await withLock(target.lock, async () => {
      const counts: CopyCounts = { uploaded: 0, copied: 0, bytes: 0 }
      const totalObjects = missing.reduce((sum, key) => sum + fileCount(key), 0)
      const report = () => options.onProgress?.({ objects: counts.uploaded + counts.copied, totalObjects, bytes: counts.bytes, totalBytes: 0 })
      // 1. Repository directories, each whole; the metadata beside it first (<key>.headers.json and the
      // servers' map lines and page part), as zreg build writes them.
      const besideNames = await readdir(source.objects)
      for (const key of missing) {
        for (const name of besideNames.filter((name) => name.startsWith(`${key}.`))) {
          await copyFileAtomic(join(source.objects, name), join(target.objects, name), { uploaded: 0, copied: 0, bytes: 0 })
        }
        await commitDirectory(join(target.objects, key), (temp) => copyDirectory(join(source.objects, key), temp, counts))
        report()
      }
      // 2. The generation, as it is: nothing in it names a path.
      const generation = join(target.generations, site.key)
      if (!existsSync(generation)) {
        await commitDirectory(generation, async (temp) => {
          await mkdir(temp)
          await copyDirectory(sourceMeta, join(temp, metaDir), { uploaded: 0, copied: 0, bytes: 0 })
        })
      }
      // 3. The literal tree, link by link, then the one rename that makes the generation live.
      const before = await readLiveSite(target).catch(() => undefined)
      const previous = new Map(Object.entries(before?.repositories ?? {}).map(([name, key]) => [name, { key }]))
      const sitePlan = await sitePlanOf(site, sourceMeta)
      await updateLiveTree(target, sitePlan.repositories, previous, sitePlan.rootFiles)
      const page = join(source.out, 'index.html')
      if (existsSync(page)) await copyFileAtomic(page, join(target.out, 'index.html'), counts)
      await swapIn(target, site.key)
      await rm(liveTreeMarker(target), { force: true })
      // 4. Deletions last.
      if (options.delete) {
        const stale = await unused(target, site)
        for (const file of stale) await rm(file, { recursive: true, force: true })
        if (!existsSync(page) && (await lstat(join(target.out, 'index.html')).catch(() => undefined))) {
          await rm(join(target.out, 'index.html'), { force: true })
          stale.push('index.html')
        }
        summary.deleted = stale.length
      }
      summary.uploaded = counts.uploaded
      summary.copied = counts.copied
      summary.bytes = counts.bytes
    })
  } catch (error) {
    throw systemError(error, target.out, `the publish target dir:${path}`) ?? error
  }
  return { ...summary, seconds: (performance.now() - started) / 1000 }
}
