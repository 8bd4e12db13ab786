import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mutableCacheControl } from './cache-control.js'
import { writeMapBuckets, type MapBucket } from './map-buckets.js'
import type { RepositoryPlan, SitePlan } from './plan.js'
import { repositoryCaddyMapPath, type TreePaths } from './tree-paths.js'

/**
 * What a tag naming an index falls back to when the index lacks the default platform: a manifest path
 * no tag can have (tags never start with "-"), so the server answers MANIFEST_UNKNOWN for it.
 */
export const caddyNoFallback = 'manifests/-'

/**
 * A repository's lines of the Caddy manifest map: URI -> "media type|digest|fallback URI" (fallback
 * only for a tag naming an index), and for each redirected blob, its URI -> "redirect-STATUS|location|".
 * Caddy's `map` compares strings exactly, so tags equal but for case stay apart without the regex keys
 * nginx needs.
 */
export function caddyMapFile(plan: RepositoryPlan): string {
  const base = `/v2/${plan.name}/`
  let lines = ''
  for (const file of plan.files) {
    const redirect = file.headers.redirect
    if (redirect) lines += `"${base}${file.path}" "redirect-${redirect.status}|${redirect.location}|"\n`
    if (!file.path.startsWith('manifests/')) continue
    const fallback = file.headers.platformFallback
    const target = fallback === undefined ? '' : base + (fallback ?? caddyNoFallback)
    lines += `"${base}${file.path}" "${file.headers.contentType}|${file.headers.digest ?? ''}|${target}"\n`
  }
  return lines
}

/** Where in a generation's metadata directory (`.zreg/`) the Caddy data lives. */
export const caddyDataDir = 'caddy'

/**
 * Writes a generation's Caddy data, which the Caddyfile of `zreg server-config --for caddy` imports
 * from the deployed root: `manifests/*.map` (every repository's map lines, in buckets: see
 * writeMapBuckets) and `cache-control.map` (how long caches may keep what a build can change). No
 * paths in them. `previous` is the live generation's metadata directory, whose unchanged buckets are
 * reused; `buckets`, how the map is split (planMapBuckets); `fresh`, the lines of repositories this
 * build planned.
 */
export function writeCaddyData(meta: string, paths: TreePaths, plan: SitePlan, previous: string | undefined, buckets: MapBucket[], fresh: ReadonlyMap<string, { caddyMap: string }>): void {
  const dir = join(meta, caddyDataDir)
  mkdirSync(dir, { recursive: true })
  writeMapBuckets(join(dir, 'manifests'), previous && join(previous, caddyDataDir, 'manifests'), buckets, (key) => fresh.get(key)?.caddyMap ?? readFileSync(repositoryCaddyMapPath(paths, key), 'utf8'))
  writeFileSync(join(dir, 'cache-control.map'), `default "${mutableCacheControl(plan.cacheMaxAge)}"\n`)
}
