import { linkSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempPathBeside, writeFileAtomic } from '../store/atomic.js'
import { catalogPage, pageFragments, placeFragment } from './catalog-page.js'
import type { SitePlan } from './plan.js'
import { metaDir, pageFile, repositoryPagePath, type TreePaths } from './tree-paths.js'

/** What a build knows of the page's repositories beyond the site plan. */
export interface PageInput {
  /** Repository key -> the fragment planned by this build (repositories it read). */
  fresh: Map<string, string>
  /** Repository name -> how many tags it has. */
  tags: Map<string, number>
}

function readFragment(paths: TreePaths, key: string): string | undefined {
  try {
    return readFileSync(repositoryPagePath(paths, key), 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The catalog page for `site`. Fragments come from this build's plans, else from the live generation's
 * page (one read, whatever the number of repositories), else from the file beside each repository's
 * directory.
 */
export async function assemblePage(paths: TreePaths, site: SitePlan, liveGeneration: string | undefined, input: PageInput): Promise<Buffer> {
  const previous = liveGeneration === undefined ? undefined : await readFile(join(paths.generations, liveGeneration, metaDir, pageFile)).catch(() => undefined)
  const reusable = pageFragments(previous, site.publicHost)
  const place = (fragment: string | undefined) => (fragment === undefined ? undefined : Buffer.from(placeFragment(fragment, site.publicHost)))
  const repositories = site.repositories.map(({ name, key }) => {
    const planned = input.fresh.get(key)
    const fragment = planned !== undefined ? place(planned) : (reusable.get(key) ?? place(readFragment(paths, key)))
    return { name, key, tags: input.tags.get(name) ?? 0, fragment }
  })
  return catalogPage(repositories, site.publicHost)
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
