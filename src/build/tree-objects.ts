import { existsSync, readFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ZregError } from '../errors.js'
import { defaultCacheMaxAge, immutableCacheControl, mutableCacheControl } from './cache-control.js'
import type { HeaderEntry } from './plan.js'
import type { BlobRedirect, RedirectRules } from './redirect-rules.js'
import type { Digest } from '../oci/digest.js'
import { repositoryHeadersPath, treePaths, type TreePaths } from './tree-paths.js'
import type { SiteManifest } from './write-tree.js'

/**
 * What a file of the literal tree is, for the order a copy of it must be written in: blobs, then image
 * manifests by digest, then indexes by digest (they name image manifests), then tags, tag lists and
 * referrers lists, then the root files (the catalog, /v2/ and the page).
 */
export const treeObjectKinds = ['blobs', 'manifests', 'indexes', 'tags', 'root'] as const
export type TreeObjectKind = (typeof treeObjectKinds)[number]

/** One file of the literal tree with the headers a server of it sends; `key` is its path from the tree root (`v2/app/tags/list`). */
export interface TreeObject {
  key: string
  /** The file holding its bytes, on this machine. */
  file: string
  /** Bytes. */
  size: number
  contentType: string
  cacheControl: string
  /** The digest of the bytes when the build knows it (blobs, manifests, tags); absent for lists and root files. */
  digest?: string
  kind: TreeObjectKind
  /**
   * A blob a redirect rule sends elsewhere: an empty object (`size` 0) a host answers with this redirect;
   * `file` names none when the build redirected it (the tree holds no file), the tree's file when rules
   * given to treeObjects did; its Cache-Control is the site's max-age, as the rules may
   * change with the next build.
   */
  redirect?: BlobRedirect
}

export interface TreeObjects {
  paths: TreePaths
  site: SiteManifest
  /** Sorted by kind (in treeObjectKinds order), then key. */
  objects: TreeObject[]
}

const digestName = /^sha(256|512):[a-f0-9]+$/

/** Index media types: manifests that name other manifests. */
const indexTypes = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'])

/** Called for every file of the tree (33,000 in a 10,000-tag site): no split, no array. */
function kindOf(path: string, headers: HeaderEntry): TreeObjectKind {
  if (path.startsWith('blobs/')) return 'blobs'
  if (path.startsWith('manifests/') && digestName.test(path.slice('manifests/'.length))) return indexTypes.has(headers.contentType) ? 'indexes' : 'manifests'
  return 'tags'
}

/** The live generation's site.json, read through `out/.zreg`; SITE_NOT_FOUND when `out` holds no build. */
export async function readLiveSite(paths: TreePaths): Promise<SiteManifest> {
  let text: string
  try {
    text = await readFile(join(paths.current, 'site.json'), 'utf8')
  } catch {
    throw new ZregError('SITE_NOT_FOUND', `${paths.out} holds no zreg build (no .zreg/site.json)`)
  }
  const site = JSON.parse(text) as SiteManifest
  if (site.format !== 2) throw new ZregError('SITE_NOT_FOUND', `${paths.out} was built by an older zreg; run \`zreg build --out ${paths.out}\` again`)
  return site
}

/**
 * Every file of the built tree at `out` (its live generation) with its Content-Type and Cache-Control
 * (cache-control.ts: immutable for what is named by digest, the site's max-age for the rest): repository
 * files from `.zreg-builds/objects/<key>` with the headers beside them, the root files (`v2/_catalog`,
 * `v2/index.html`) from the generation, and `index.html` at the root when the build wrote one.
 * `redirects`: rules that send blobs the tree holds elsewhere all the same (publish-time rules): they
 * come out as the build's redirected blobs do, but keep their file. SITE_NOT_FOUND when `out` holds no build.
 */
export async function treeObjects(out: string, options: { redirects?: RedirectRules } = {}): Promise<TreeObjects> {
  const paths = treePaths(out)
  const site = await readLiveSite(paths)
  const mutable = mutableCacheControl(site.cacheMaxAge ?? defaultCacheMaxAge)
  const objects: TreeObject[] = []
  for (const [name, key] of Object.entries(site.repositories)) {
    // Synchronous: a site of 1,000 repositories has 1,000 of these small files, and one read each costs
    // less than the thread pool's four round trips (open, stat, read, close) of an asynchronous one.
    const headers = JSON.parse(readFileSync(repositoryHeadersPath(paths, key), 'utf8')) as Record<string, HeaderEntry>
    const directory = join(paths.objects, key)
    for (const [path, entry] of Object.entries(headers)) {
      const kind = kindOf(path, entry)
      const byDigest = kind === 'blobs' || kind === 'manifests' || kind === 'indexes'
      const object: TreeObject = { key: `v2/${name}/${path}`, file: `${directory}/${path}`, size: entry.length, contentType: entry.contentType, cacheControl: byDigest ? immutableCacheControl : mutable, kind }
      if (entry.digest !== undefined) object.digest = entry.digest
      const redirect = entry.redirect ?? (kind === 'blobs' && options.redirects !== undefined && entry.digest !== undefined ? options.redirects.redirectOf(name, { digest: entry.digest as Digest, size: entry.length, mediaType: entry.mediaType ?? '' }) : undefined)
      if (redirect !== undefined) {
        object.redirect = redirect
        // The build's own redirect: the tree has no file. One of publish-time rules keeps the tree's file.
        if (entry.redirect !== undefined) object.file = ''
        object.size = 0
        object.cacheControl = mutable
      }
      objects.push(object)
    }
  }
  const rootFiles: [string, string, string][] = Object.entries(site.rootFiles).map(([path, entry]) => [path, join(paths.current, path), entry.contentType])
  // The catalog page at the root, when the build wrote one.
  if (site.rootFiles['index.html'] === undefined && existsSync(join(paths.out, 'index.html'))) rootFiles.push(['index.html', join(paths.out, 'index.html'), 'text/html; charset=utf-8'])
  for (const [path, file, contentType] of rootFiles) {
    objects.push({ key: path, file, size: (await stat(file)).size, contentType, cacheControl: mutable, kind: 'root' })
  }
  const rank = (kind: TreeObjectKind) => treeObjectKinds.indexOf(kind)
  objects.sort((a, b) => rank(a.kind) - rank(b.kind) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return { paths, site, objects }
}
