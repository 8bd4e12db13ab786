import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { immutableCacheControl, defaultCacheMaxAge, mutableCacheControl } from '../build/cache-control.js'
import type { HeaderEntry } from '../build/plan.js'
import { repositoryHeadersPath, treePaths, type TreePaths } from '../build/tree-paths.js'
import type { SiteManifest } from '../build/write-tree.js'
import { ZregError } from '../errors.js'

/**
 * The order a publish writes in, so a reader of the target never meets a name for something missing:
 * blobs, then image manifests by digest, then indexes by digest (they name image manifests), then tags,
 * tag lists and referrers lists, then the catalog, /v2/ and the page. Deletions come after all of them.
 */
export const publishStages = ['blobs', 'manifests', 'indexes', 'tags', 'root'] as const
export type PublishStage = (typeof publishStages)[number]

/** One file of the literal tree as an object: `key` is its path relative to the tree root (`v2/app/tags/list`). */
export interface PublishObject {
  key: string
  /** The file holding its bytes, on this machine. */
  file: string
  /** Bytes. */
  size: number
  contentType: string
  cacheControl: string
  /** `sha256:<hex>` of the bytes: the digest it is named by, else a hash of the (small) file. */
  digest: string
  stage: PublishStage
}

/** What `zreg publish` sends: every object of the literal tree, and the live generation it comes from. */
export interface PublishPlan {
  paths: TreePaths
  site: SiteManifest
  objects: PublishObject[]
}

const digestName = /^sha(256|512):[a-f0-9]+$/

/** Index media types: manifests that name other manifests, so they go after the ones they name. */
const indexTypes = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'])

function stageOf(path: string, headers: HeaderEntry): PublishStage {
  const [part, name = ''] = path.split('/')
  if (part === 'blobs') return 'blobs'
  if (part === 'manifests' && digestName.test(name)) return indexTypes.has(headers.contentType) ? 'indexes' : 'manifests'
  return 'tags'
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
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
 * Every object of the built tree at `out` (its live generation): repository files from
 * `.zreg-builds/objects/<key>` with the headers beside them, the root files (`v2/_catalog`,
 * `v2/index.html`) from the generation, and `index.html` at the root when the build wrote one. Sorted
 * by stage, then key. SITE_NOT_FOUND when `out` holds no build.
 */
export async function planPublish(out: string): Promise<PublishPlan> {
  const paths = treePaths(out)
  const site = await readLiveSite(paths)
  const mutable = mutableCacheControl(site.cacheMaxAge ?? defaultCacheMaxAge)
  const objects: PublishObject[] = []
  for (const [name, key] of Object.entries(site.repositories)) {
    const headers = JSON.parse(await readFile(repositoryHeadersPath(paths, key), 'utf8')) as Record<string, HeaderEntry>
    for (const [path, entry] of Object.entries(headers)) {
      const file = join(paths.objects, key, path)
      const stage = stageOf(path, entry)
      const byDigest = stage === 'blobs' || stage === 'manifests' || stage === 'indexes'
      objects.push({
        key: `v2/${name}/${path}`,
        file,
        size: entry.length,
        contentType: entry.contentType,
        cacheControl: byDigest ? immutableCacheControl : mutable,
        // A tag's bytes are its manifest's; lists and referrers are small files hashed here.
        digest: entry.digest ?? (await sha256Of(file)),
        stage,
      })
    }
  }
  const rootFiles: [string, string, string][] = Object.entries(site.rootFiles).map(([path, entry]) => [path, join(paths.current, path), entry.contentType])
  // The catalog page another part of the build writes at the root, when there is one.
  if (site.rootFiles['index.html'] === undefined && existsSync(join(paths.out, 'index.html'))) rootFiles.push(['index.html', join(paths.out, 'index.html'), 'text/html; charset=utf-8'])
  for (const [path, file, contentType] of rootFiles) {
    objects.push({ key: path, file, size: (await stat(file)).size, contentType, cacheControl: mutable, digest: await sha256Of(file), stage: 'root' })
  }
  const rank = (stage: PublishStage) => publishStages.indexOf(stage)
  objects.sort((a, b) => rank(a.stage) - rank(b.stage) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return { paths, site, objects }
}
