import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MediaTypes } from '../oci/media-types.js'
import { mutableCacheControl } from './cache-control.js'
import { writeFileParts } from './file-parts.js'
import { writeMapBuckets, type MapBucket } from './map-buckets.js'
import type { RepositoryPlan, SitePlan } from './plan.js'
import { repositoryNginxMapPath, type TreePaths } from './tree-paths.js'

/** nginx picks Content-Type per location, so each manifest media type gets an internal location. */
export const nginxManifestKinds: Record<string, string> = {
  [MediaTypes.OciManifest]: 'oci-manifest',
  [MediaTypes.OciIndex]: 'oci-index',
  [MediaTypes.DockerManifest]: 'docker-manifest',
  [MediaTypes.DockerManifestList]: 'docker-list',
}

/** A string as a PCRE pattern matching exactly it (tags and names use only [A-Za-z0-9_./:-]). */
function exactly(text: string): string {
  return `~^${text.replace(/[.\\^$|?*+()[\]{}]/g, (c) => `\\${c}`)}$`
}

/**
 * A repository's lines of the manifest map: URI -> "kind|digest|fallback", where fallback is the
 * default platform's manifest URI for a tag naming an index ("none" when the index lacks it), and
 * for each redirected blob, its URI -> "redirect-STATUS|location|".
 * nginx matches string keys ignoring case, and refuses two that differ only in case, so tags equal
 * but for case (v1.0-rc1, v1.0-RC1) get case-sensitive regex keys instead.
 */
export function nginxMapFile(plan: RepositoryPlan): string {
  const base = `/v2/${plan.name}/`
  const manifests = plan.files.filter((file) => file.path.startsWith('manifests/'))
  // Blobs a redirect rule sends elsewhere: "redirect-STATUS|LOCATION|" (locations hold no quote or $: redirect-rules.ts).
  let redirects = ''
  for (const file of plan.files) if (file.headers.redirect) redirects += `"${base}${file.path}" "redirect-${file.headers.redirect.status}|${file.headers.redirect.location}|";\n`
  const folded = new Map<string, number>()
  for (const file of manifests) folded.set(file.path.toLowerCase(), (folded.get(file.path.toLowerCase()) ?? 0) + 1)
  let lines = ''
  for (const file of manifests) {
    const fallback = file.headers.platformFallback
    const target = fallback === undefined ? '' : fallback === null ? 'none' : base + fallback
    const uri = base + file.path
    const key = folded.get(file.path.toLowerCase())! > 1 ? exactly(uri) : uri
    lines += `"${key}" "${nginxManifestKinds[file.headers.contentType] ?? 'missing'}|${file.headers.digest ?? ''}|${target}";\n`
  }
  return lines + redirects
}

/** Where in a generation's metadata directory (`.zreg/`) the nginx data lives. */
export const nginxDataDir = 'nginx'

/**
 * Writes a generation's nginx data, which the configuration of `zreg server-config --for nginx`
 * includes from the deployed root: `repos.map` (repository -> directory), `manifests/*.map` (every
 * repository's manifest lines, in buckets: see writeMapBuckets; nginx resolves a relative `include`
 * against its own configuration directory, not the including file, so the generation cannot name
 * per-repository files) and `cache-control.map` (what a build can change may be cached this long).
 * Nothing in them names a path, so a copied tree serves the same. `previous` is the live generation's
 * metadata directory, whose unchanged buckets are reused; `buckets`, how the map is split
 * (planMapBuckets); `reposMap`, the parts of repos.map (generation-texts.ts); `fresh`, the lines of
 * repositories this build planned (the others' are read from beside their directories).
 */
export function writeNginxData(meta: string, paths: TreePaths, plan: SitePlan, previous: string | undefined, buckets: MapBucket[], reposMap: readonly Buffer[], fresh: ReadonlyMap<string, { nginxMap: string }>): void {
  const dir = join(meta, nginxDataDir)
  mkdirSync(dir, { recursive: true })
  writeFileParts(join(dir, 'repos.map'), reposMap)
  writeMapBuckets(join(dir, 'manifests'), previous && join(previous, nginxDataDir, 'manifests'), buckets, (key) => fresh.get(key)?.nginxMap ?? readFileSync(repositoryNginxMapPath(paths, key), 'utf8'))
  writeFileSync(join(dir, 'cache-control.map'), `default "${mutableCacheControl(plan.cacheMaxAge)}";\n`)
}
