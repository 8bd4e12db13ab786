import { linkSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { listedBlock, listedBlockId, pageBlock, pageBlocks, pageHead, pageLayout, pageTail, type PageLayout } from './catalog-page.js'
import { readParsed, rememberParsed } from './parsed-files.js'
import type { SitePlan } from './plan.js'
import { metaDir, pageFile, repositoryPagePath, type TreePaths } from './tree-paths.js'

/** What a build knows of the page's repositories beyond the site plan. */
export interface PageInput {
  /** Repository key -> what this build planned (repositories it read), its part of the page among it (absent: read it from beside the directory). */
  fresh: ReadonlyMap<string, { page?: string }>
  /** Repository name -> how many tags it has. */
  tags: ReadonlyMap<string, number>
}

/** A page as written: the parts to write one after the other, its layout, and where each repository's block lies in it (by key, or listedBlockId). */
export interface AssembledPage {
  parts: Buffer[]
  layout: PageLayout
  blocks: ReadonlyMap<string, { start: number; end: number }>
  /** The live page when this one is the same, byte for byte (a tag moved: nothing the page shows changed). */
  same?: KnownPage
}

/** A generation's page as the next build reads it. */
export interface KnownPage {
  /** Its bytes (joined from its parts on first use: a process that builds once never pays for it). */
  bytes(): Buffer
  layout: PageLayout
  blocks: ReadonlyMap<string, { start: number; end: number }>
}

function sameLayout(a: PageLayout, b: PageLayout): boolean {
  return a.publicHost === b.publicHost && a.shown === b.shown
}

/**
 * The live page and where its blocks lie, for `layout`: from memory in the process that wrote it
 * (rememberPage), else read in one call (fs/promises would read megabytes in 512 KiB round trips) and
 * scanned; undefined when there is none.
 */
function livePage(path: string, layout: PageLayout): KnownPage | undefined {
  const known = readParsed(path, (file): KnownPage | undefined => {
    try {
      const page = readFileSync(file)
      return { bytes: () => page, layout, blocks: pageBlocks(page, layout) }
    } catch {
      return undefined
    }
  })
  if (known === undefined || sameLayout(known.layout, layout)) return known
  return { bytes: known.bytes, layout, blocks: pageBlocks(known.bytes(), layout) }
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
 * generation's page (kept in memory, or one read, whatever the number of repositories; the unchanged
 * neighbours are copied as one range), else from the fragment beside the repository's directory; on
 * a page that lists repositories only, from its name and tag count.
 */
export function assemblePage(paths: TreePaths, site: SitePlan, liveGeneration: string | undefined, input: PageInput): AssembledPage {
  const tags = site.repositories.reduce((sum, { name }) => sum + (input.tags.get(name) ?? 0), 0)
  const layout = pageLayout(site.publicHost, tags)
  const head = pageHead({ repositories: site.repositories.length, tags }, layout)
  const previous = liveGeneration === undefined ? undefined : livePage(join(paths.generations, liveGeneration, metaDir, pageFile), layout)
  const before = previous?.bytes()
  const parts: Buffer[] = [head]
  const blocks = new Map<string, { start: number; end: number }>()
  let at = head.length
  let run: { start: number; end: number } | undefined
  const listed = layout.shown === 'listed'
  for (const { name, key } of site.repositories) {
    const tags = input.tags.get(name) ?? 0
    const id = listed ? listedBlockId({ name, tags }) : key
    const range = !listed && input.fresh.has(key) ? undefined : previous?.blocks.get(id)
    if (range !== undefined) {
      blocks.set(id, { start: at, end: at + range.end - range.start })
      at += range.end - range.start
      if (run !== undefined && run.end === range.start) {
        run.end = range.end
        continue
      }
    }
    if (run !== undefined) parts.push(before!.subarray(run.start, run.end))
    run = range === undefined ? undefined : { ...range }
    if (range !== undefined) continue
    const block = listed ? listedBlock({ name, tags }) : pageBlock({ name, key, tags }, input.fresh.get(key)?.page ?? readFragment(paths, key), layout)
    blocks.set(id, { start: at, end: at + block.length })
    at += block.length
    parts.push(block)
  }
  if (run !== undefined) parts.push(before!.subarray(run.start, run.end))
  parts.push(pageTail(site.repositories.length))
  return { parts, layout, blocks, ...(previous !== undefined && samePage(parts, before!) ? { same: previous } : {}) }
}

/** Whether `parts` make `page`: the parts copied from it at their own place are not compared again. */
function samePage(parts: Buffer[], page: Buffer): boolean {
  let at = 0
  for (const part of parts) {
    if (at + part.length > page.length) return false
    const inPlace = part.buffer === page.buffer && part.byteOffset === page.byteOffset + at
    if (!inPlace && !part.equals(page.subarray(at, at + part.length))) return false
    at += part.length
  }
  return at === page.length
}

/**
 * Keeps `page`, just written at `path` and not to change, for the next build in this process to copy
 * its blocks from. Its parts are joined only if one does (3 MB: 15-20 ms on some machines).
 */
export function rememberPage(path: string, page: AssembledPage): void {
  if (page.same !== undefined) return rememberParsed(path, page.same)
  let parts: Buffer[] | undefined = page.parts
  let joined: Buffer | undefined
  const bytes = () => {
    // The parts hold ranges of the page before: let it go once joined.
    joined ??= Buffer.concat(parts!)
    parts = undefined
    return joined
  }
  rememberParsed(path, { bytes, layout: page.layout, blocks: page.blocks } satisfies KnownPage)
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
