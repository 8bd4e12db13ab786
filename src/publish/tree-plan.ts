import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import pLimit from 'p-limit'
import type { TreePaths } from '../build/tree-paths.js'
import { treeObjects, treeObjectKinds, type TreeObject, type TreeObjectKind } from '../build/tree-objects.js'
import type { SiteManifest } from '../build/write-tree.js'
import type { RedirectRules } from '../build/redirect-rules.js'

export { readLiveSite } from '../build/tree-objects.js'

/**
 * The order a publish writes in, so a reader of the target never meets a name for something missing:
 * blobs, then image manifests by digest, then indexes by digest, then tags, tag lists and referrers
 * lists, then the catalog, /v2/ and the page. Deletions come after all of them.
 */
export const publishStages = treeObjectKinds
export type PublishStage = TreeObjectKind

/** One file of the literal tree as an object to publish: a TreeObject whose digest is always known. */
export interface PublishObject extends Omit<TreeObject, 'kind' | 'digest'> {
  /** `sha256:<hex>` of the bytes: the digest it is named by, else a hash of the (small) file. */
  digest: string
  stage: PublishStage
}

/** What `zreg publish` sends: every object of the literal tree, and the live generation it comes from. */
export interface PublishPlan {
  paths: TreePaths
  site: SiteManifest
  /** In publishStages order, then by key. */
  objects: PublishObject[]
}

/** Files up to this size are hashed from one read; bigger ones streamed. */
const smallFile = 1024 * 1024

async function sha256Of(file: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  // One synchronous read: cheaper than the thread pool's round trips for the small lists this is for.
  if (size <= smallFile) hash.update(readFileSync(file))
  else for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/**
 * Every object of the built tree at `out` (treeObjects), lists and root files hashed; `redirects`
 * (publish-time rules) turn blobs the tree holds into redirects. SITE_NOT_FOUND when `out` holds no build.
 */
export async function planPublish(out: string, options: { redirects?: RedirectRules } = {}): Promise<PublishPlan> {
  const { paths, site, objects } = await treeObjects(out, options)
  // Each field named: a rest-and-spread copy of 33,000 objects cost more than the rest of the plan.
  const planned = objects.map((object): PublishObject => {
    const published: PublishObject = { key: object.key, file: object.file, size: object.size, contentType: object.contentType, cacheControl: object.cacheControl, digest: object.digest ?? '', stage: object.kind }
    // An empty object that redirects: what identifies its content is where it points.
    if (object.redirect !== undefined) Object.assign(published, { redirect: object.redirect, digest: `sha256:${createHash('sha256').update(`${object.redirect.status} ${object.redirect.location}`).digest('hex')}` })
    return published
  })
  // Tag lists, referrers lists and root files: small files, hashed here a few at a time.
  const limit = pLimit(16)
  await Promise.all(planned.filter((object) => object.digest === '').map((object) => limit(async () => void (object.digest = await sha256Of(object.file, object.size)))))
  return { paths, site, objects: planned }
}
