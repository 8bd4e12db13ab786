import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writevSync } from 'node:fs'
import { join } from 'node:path'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { catalogPage, listedBlock, pageBlock, pageBlocks, pageLayout } from './catalog-page.js'
import type { SitePlan } from './plan.js'
import { metaDir, pageFile, repositoryPagePath, type TreePaths } from './tree-paths.js'

/** What a build knows of the page's repositories beyond the site plan. */
export interface PageInput {
  /** Repository key -> what this build planned (repositories it read), its part of the page among it. */
  fresh: ReadonlyMap<string, { page: string }>
  /** Repository name -> how many tags it has. */
  tags: Map<string, number>
}

/** The live page, read in one call (fs/promises would read megabytes in 512 KiB round trips), or undefined. */
function readPage(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

function readFragment(paths: TreePaths, key: string): string | undefined {
  try {
    return readFileSync(repositoryPagePath(paths, key), 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The catalog page for `site`. A repository's block comes from this build's plan, else from the live
 * generation's page (one read, whatever the number of repositories; the unchanged neighbours are copied
 * as one range), else from the fragment beside the repository's directory.
 */
export function assemblePage(paths: TreePaths, site: SitePlan, liveGeneration: string | undefined, input: PageInput): Buffer[] {
  const tags = site.repositories.reduce((sum, { name }) => sum + (input.tags.get(name) ?? 0), 0)
  const layout = pageLayout(site.publicHost, tags)
  if (layout.shown === 'listed') {
    // Made whole each time: no fragment or earlier page to read (100,000 tags: 3 MB).
    const lines = site.repositories.map(({ name }) => listedBlock({ name, tags: input.tags.get(name) ?? 0 }))
    return catalogPage([Buffer.from(lines.join(''))], { repositories: site.repositories.length, tags }, layout)
  }
  const previous = liveGeneration === undefined ? undefined : readPage(join(paths.generations, liveGeneration, metaDir, pageFile))
  const reusable = pageBlocks(previous, layout)
  const blocks: Buffer[] = []
  let run: { start: number; end: number } | undefined
  for (const { name, key } of site.repositories) {
    const range = input.fresh.has(key) ? undefined : reusable.get(key)
    if (range !== undefined && run !== undefined && run.end === range.start) {
      run.end = range.end
      continue
    }
    if (run !== undefined) blocks.push(previous!.subarray(run.start, run.end))
    run = range === undefined ? undefined : { ...range }
    if (range === undefined) blocks.push(pageBlock({ name, key, tags: input.tags.get(name) ?? 0 }, input.fresh.get(key)?.page ?? readFragment(paths, key), layout))
  }
  if (run !== undefined) blocks.push(previous!.subarray(run.start, run.end))
  return catalogPage(blocks, { repositories: site.repositories.length, tags }, layout)
}

/** Writes the page's parts to a new file at `path`; returns its length. */
export function writePage(path: string, parts: Buffer[]): number {
  const fd = openSync(path, 'wx')
  try {
    let rest = parts
    let written = 0
    while (rest.length > 0) {
      // writev may write less than asked (and at most IOV_MAX parts): go on from where it stopped.
      let count = writevSync(fd, rest)
      written += count
      let first = 0
      while (first < rest.length && count >= rest[first]!.length) count -= rest[first++]!.length
      rest = rest.slice(first)
      if (count > 0) rest[0] = rest[0]!.subarray(count)
    }
    return written
  } finally {
    closeSync(fd)
  }
}

/**
 * Makes `out/index.html` the page of `generation` (written with it, so zreg serve reads the page of the
 * generation it serves): a hard link renamed into place, so a plain server sends one page or the other,
 * never half of one. A copy where links are not possible.
 */
export async function publishPage(paths: TreePaths, generation: string): Promise<void> {
  const source = join(paths.generations, generation, metaDir, pageFile)
  const target = join(paths.out, pageFile)
  const temp = tempPathBeside(target)
  try {
    linkSync(source, temp)
    renameSync(temp, target)
  } catch (error) {
    rmSync(temp, { force: true })
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error
    await writeFileAtomic(target, readFileSync(source), { fsync: false })
  }
}
