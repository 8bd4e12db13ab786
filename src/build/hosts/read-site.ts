import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ZregError } from '../../errors.js'
import { defaultCacheMaxAge } from '../cache-control.js'
import type { HeaderEntry } from '../plan.js'
import { metaDir, repositoryHeadersPath, treePaths } from '../tree-paths.js'
import type { SiteManifest } from '../write-tree.js'

/** What a host configuration needs of a built tree: its live generation, and its cache lifetime in seconds. */
export interface BuiltSite {
  site: SiteManifest
  cacheMaxAge: number
}

/** Reads `tree/.zreg/site.json`; SITE_NOT_FOUND when `tree` is no tree `zreg build` wrote. */
export async function readBuiltSite(tree: string): Promise<BuiltSite> {
  let site: SiteManifest
  try {
    site = JSON.parse(await readFile(join(tree, metaDir, 'site.json'), 'utf8')) as SiteManifest
  } catch (error) {
    throw new ZregError('SITE_NOT_FOUND', `${tree} has no readable ${metaDir}/site.json (${(error as Error).message}): it is not a tree written by \`zreg build\``)
  }
  return { site, cacheMaxAge: site.cacheMaxAge ?? defaultCacheMaxAge }
}

/** A repository's files (paths relative to `v2/<name>/`) and their headers, as the build wrote them. */
export async function readRepositoryHeaders(tree: string, name: string, key: string): Promise<Record<string, HeaderEntry>> {
  try {
    return JSON.parse(await readFile(repositoryHeadersPath(treePaths(tree), key), 'utf8')) as Record<string, HeaderEntry>
  } catch (error) {
    throw new ZregError('SITE_NOT_FOUND', `the headers of ${name} in ${tree} are unreadable (${(error as Error).message}); run \`zreg build\` again`)
  }
}
