import { defaultCacheMaxAge } from '../cache-control.js'
import { readLiveSite } from '../tree-objects.js'
import { treePaths } from '../tree-paths.js'
import type { SiteManifest } from '../write-tree.js'

/** What a host configuration needs of a built tree: its live generation, and its cache lifetime in seconds. */
export interface BuiltSite {
  site: SiteManifest
  cacheMaxAge: number
}

/** The live generation of `tree` (readLiveSite: SITE_NOT_FOUND when `tree` is no tree `zreg build` wrote). */
export async function readBuiltSite(tree: string): Promise<BuiltSite> {
  const site = await readLiveSite(treePaths(tree))
  return { site, cacheMaxAge: site.cacheMaxAge ?? defaultCacheMaxAge }
}
