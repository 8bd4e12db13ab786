import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { repositoryParts, type PlannedFile, type RepositoryEntry } from './plan.js'
import type { TreePaths } from './tree-paths.js'

/** What is at `path` now: a link (and where to), a directory, or nothing. */
function entryAt(path: string): { link?: string; directory?: boolean } | undefined {
  try {
    const info = lstatSync(path)
    if (info.isSymbolicLink()) return { link: readlinkSync(path) }
    return { directory: info.isDirectory() }
  } catch {
    return undefined
  }
}

/** Points `path` at `target` with a fresh link renamed over the old one: readers see one or the other. */
function swapLink(path: string, target: string): void {
  const current = entryAt(path)
  if (current?.link === target) return
  if (current !== undefined && current.link === undefined) rmSync(path, { recursive: true, force: true })
  mkdirSync(dirname(path), { recursive: true })
  const temp = tempPathBeside(path)
  symlinkSync(target, temp)
  renameSync(temp, path)
}

/** Removes `path` and then each parent left empty, up to (not including) `stop`. */
function removeAndPrune(path: string, stop: string): void {
  rmSync(path, { recursive: true, force: true })
  for (let dir = dirname(path); dir.startsWith(`${stop}/`); dir = dirname(dir)) {
    try {
      rmdirSync(dir)
    } catch {
      return
    }
  }
}

/**
 * Brings the shared literal tree (what plain file servers and uploads see) to `repositories`, in place:
 * each repository is one link swapped atomically (a repository others nest in gets one link per part),
 * so only what changed is touched. zreg serve and nginx read through a generation instead, which is
 * swapped whole.
 */
/**
 * Present from before the literal tree is changed until the new generation is live: a build that finds
 * it knows the last one died half way, and checks every repository instead of trusting that the tree
 * matches the live generation.
 */
export function liveTreeMarker(paths: TreePaths): string {
  return join(paths.root, 'v2.updating')
}

export async function updateLiveTree(paths: TreePaths, repositories: RepositoryEntry[], previous: Map<string, string>, rootFiles: PlannedFile[]): Promise<void> {
  const marker = liveTreeMarker(paths)
  const checkAll = existsSync(marker) || !existsSync(paths.live)
  mkdirSync(paths.live, { recursive: true })
  writeFileSync(marker, '')
  const ancestors = new Set<string>()
  for (const { name } of repositories) {
    for (let slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) ancestors.add(name.slice(0, slash))
  }
  const wanted = new Set(repositories.map((repository) => repository.name))
  // Deepest first, so a parent pruned as empty is not one a nested repository still needs.
  for (const name of [...previous.keys()].filter((name) => !wanted.has(name)).sort().reverse()) {
    const path = join(paths.live, name)
    if (ancestors.has(name)) for (const part of repositoryParts) rmSync(join(path, part), { force: true })
    else removeAndPrune(path, paths.live)
  }
  for (const repository of repositories) {
    if (!checkAll && previous.get(repository.name) === repository.key && !ancestors.has(repository.name)) continue
    const path = join(paths.live, repository.name)
    const target = join(paths.objects, repository.key)
    // Relative links keep the tree valid wherever the build directory is moved or mounted.
    if (ancestors.has(repository.name)) {
      if (entryAt(path)?.link !== undefined) unlinkSync(path)
      for (const part of repositoryParts) swapLink(join(path, part), relative(path, join(target, part)))
    } else {
      swapLink(path, relative(dirname(path), target))
    }
  }
  for (const file of rootFiles) {
    if (!('text' in file.source)) continue
    const path = join(paths.root, file.path)
    const current = (() => {
      try {
        return readFileSync(path, 'utf8')
      } catch {
        return undefined
      }
    })()
    if (current === file.source.text) continue
    mkdirSync(dirname(path), { recursive: true })
    await writeFileAtomic(path, file.source.text, { fsync: false })
  }
}
