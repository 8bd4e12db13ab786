import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { repositoryParts } from '../oci/tree-collisions.js'
import type { PlannedFile, RepositoryEntry } from './plan.js'
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

/** Makes `path` and each parent below `root` a real directory, dropping links a changed layout left there. */
function ensureDirectory(root: string, path: string): void {
  const rest = relative(root, path)
  if (rest === '') return
  let dir = root
  for (const component of rest.split('/')) {
    dir = join(dir, component)
    const current = entryAt(dir)
    if (current?.directory) continue
    if (current !== undefined) unlinkSync(dir)
    mkdirSync(dir)
  }
}

/** Points `path` (whose parent exists) at `target` with a fresh link renamed over the old one: readers see one or the other. */
function swapLink(path: string, target: string): void {
  const current = entryAt(path)
  if (current?.link === target) return
  if (current !== undefined && current.link === undefined) rmSync(path, { recursive: true, force: true })
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

/** Removes what is in directory `dir` but not in `keep` (a link where a directory is wanted goes whole). */
function removeAllBut(dir: string, keep: Set<string>): void {
  const current = entryAt(dir)
  if (current === undefined) return
  if (!current.directory) {
    unlinkSync(dir)
    return
  }
  for (const name of readdirSync(dir)) if (!keep.has(name)) rmSync(join(dir, name), { recursive: true, force: true })
}

type Part = (typeof repositoryParts)[number]
/** How a repository sits in the literal tree: one link, or a directory with a link or a directory of per-file links per part. */
type Placement = 'link' | Record<Part, 'link' | 'files'>

/**
 * Where the literal tree needs real directories, given every repository name in it. A repository no
 * other nests in is one link to its directory under objects/; one others nest in is a directory of
 * one link per part, and a part others nest in (`app/blobs` beside `app`) a directory of one link per
 * file. The names must not collide (treeCollisions), so those links and the nested entries never meet.
 */
export class LiteralLayout {
  private readonly names: Set<string>
  private readonly directories = new Set<string>()
  /** Directory path -> the entries in it that nested repositories need. */
  private readonly nested = new Map<string, Set<string>>()

  constructor(names: Iterable<string>) {
    this.names = new Set(names)
    for (const name of this.names) {
      const components = name.split('/')
      for (let i = 1; i < components.length; i++) {
        const dir = components.slice(0, i).join('/')
        this.directories.add(dir)
        const entries = this.nested.get(dir) ?? new Set<string>()
        entries.add(components[i]!)
        this.nested.set(dir, entries)
      }
      // A repository named like a part of its parent shares that part's directory.
      if (this.names.has(dirname(name)) && (repositoryParts as readonly string[]).includes(components.at(-1)!)) this.directories.add(name)
    }
    for (const name of this.names) {
      if (this.directories.has(name)) this.nested.set(name, new Set([...(this.nested.get(name) ?? []), ...repositoryParts]))
    }
  }

  placement(name: string): Placement {
    if (!this.directories.has(name)) return 'link'
    const parts = {} as Record<Part, 'link' | 'files'>
    for (const part of repositoryParts) parts[part] = this.directories.has(`${name}/${part}`) ? 'files' : 'link'
    return parts
  }

  isDirectory(path: string): boolean {
    return this.directories.has(path)
  }

  /** The entries of directory `path` that repositories other than its own need. */
  nestedEntries(path: string): Set<string> {
    return this.nested.get(path) ?? new Set()
  }
}

function samePlacement(a: Placement, b: Placement): boolean {
  return a === b || (a !== 'link' && b !== 'link' && repositoryParts.every((part) => a[part] === b[part]))
}

/** Links one repository into the literal tree as `placement` says. */
function placeRepository(paths: TreePaths, layout: LiteralLayout, name: string, key: string, placement: Placement): void {
  const path = join(paths.live, name)
  const target = join(paths.objects, key)
  // Relative links keep the tree valid wherever the build directory is moved or mounted.
  if (placement === 'link') {
    ensureDirectory(paths.live, dirname(path))
    swapLink(path, relative(dirname(path), target))
    return
  }
  ensureDirectory(paths.live, path)
  for (const part of repositoryParts) {
    const partPath = join(path, part)
    if (placement[part] === 'link') {
      swapLink(partPath, relative(path, join(target, part)))
      continue
    }
    ensureDirectory(paths.live, partPath)
    const files = existsSync(join(target, part)) ? readdirSync(join(target, part)) : []
    for (const file of files) swapLink(join(partPath, file), relative(partPath, join(target, part, file)))
    removeAllBut(partPath, new Set([...files, ...layout.nestedEntries(`${name}/${part}`)]))
  }
}

/**
 * Present from before the literal tree is changed until the new generation is live: a build that finds
 * it knows the last one died half way, and checks every repository instead of trusting that the tree
 * matches the live generation.
 */
export function liveTreeMarker(paths: TreePaths): string {
  return join(paths.root, 'v2.updating')
}

/**
 * Brings the shared literal tree (what plain file servers and uploads see) to `repositories`, in place:
 * each link is swapped atomically (see LiteralLayout for where links and directories are), so only what
 * changed is touched. zreg serve and nginx read through a generation instead, which is swapped whole.
 * `previousLayout`, when known, is the layout of `previous`'s names. Returns the layout of `repositories`.
 */
export async function updateLiveTree(
  paths: TreePaths,
  repositories: RepositoryEntry[],
  previous: ReadonlyMap<string, { key: string }>,
  rootFiles: PlannedFile[],
  previousLayout?: LiteralLayout,
): Promise<LiteralLayout> {
  const marker = liveTreeMarker(paths)
  const checkAll = existsSync(marker) || !existsSync(paths.live)
  mkdirSync(paths.live, { recursive: true })
  writeFileSync(marker, '')
  const wanted = new Set(repositories.map((repository) => repository.name))
  // Most rebuilds keep the names: one layout serves for both (10,000 repositories: 15 ms each), and
  // the caller may have it from the last build.
  const sameNames = wanted.size === previous.size && [...previous.keys()].every((name) => wanted.has(name))
  const after = sameNames && previousLayout !== undefined ? previousLayout : new LiteralLayout(wanted)
  const before = sameNames ? after : (previousLayout ?? new LiteralLayout(previous.keys()))
  // Deepest first, so a parent pruned as empty is not one a nested repository still needs.
  for (const name of [...previous.keys()].filter((name) => !wanted.has(name)).sort().reverse()) {
    const path = join(paths.live, name)
    if (!after.isDirectory(name) || entryAt(path)?.link !== undefined) {
      removeAndPrune(path, paths.live)
      continue
    }
    for (const part of repositoryParts) {
      if (after.isDirectory(`${name}/${part}`)) removeAllBut(join(path, part), after.nestedEntries(`${name}/${part}`))
      else rmSync(join(path, part), { recursive: true, force: true })
    }
  }
  // Sorted, so a repository is placed before the ones nested in it.
  for (const repository of [...repositories].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const placement = after.placement(repository.name)
    const unchanged = previous.get(repository.name)?.key === repository.key && samePlacement(before.placement(repository.name), placement)
    if (!checkAll && unchanged) continue
    placeRepository(paths, after, repository.name, repository.key, placement)
  }
  for (const file of rootFiles) {
    if (!('text' in file.source)) continue
    const path = join(paths.out, file.path)
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
  return after
}
