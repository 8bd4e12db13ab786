import { existsSync, statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import pLimit from 'p-limit'
import { immutableCacheControl } from '../build/cache-control.js'
import { treeObjects } from '../build/tree-objects.js'
import type { RedirectRules } from '../build/redirect-rules.js'
import { ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.js'
import { MediaTypes } from '../oci/media-types.js'
import type { LocalBlobPaths } from '../store/store.js'
import { copyFileAtomic } from './publish-dir.js'
import { defaultPublishJobs, type PublishAction, type PublishOptions, type PublishSummary } from './publish-result.js'
import type { S3ConnectionOptions } from './s3-bucket.js'

/** A blob the tree redirects, as `--blobs-to` sends it: at `ALGORITHM/HEX` of the target (an OCI layout's `blobs/` layout). */
export interface RedirectedBlob {
  digest: Digest
  /** `sha256/<hex>`: its key under the target. */
  key: string
  size: number
  /** Its bytes on this machine (in the store). */
  file: string
}

/**
 * The blobs the live generation of the tree at `out` redirects (each once; `redirects`, publish-time
 * rules, add to them), found in `store` (a store, or a stack of them). BLOB_UNKNOWN, naming the first, when the store lacks any: the tree was built
 * from another store.
 */
export async function redirectedBlobs(out: string, store: LocalBlobPaths, redirects?: RedirectRules): Promise<RedirectedBlob[]> {
  const found = new Map<string, RedirectedBlob>()
  for (const object of (await treeObjects(out, redirects === undefined ? {} : { redirects })).objects) {
    if (object.redirect === undefined || object.digest === undefined || found.has(object.digest)) continue
    const digest = object.digest as Digest
    const file = store.blobPath(digest)
    if (!existsSync(file)) throw new ZregError('BLOB_UNKNOWN', `blob ${digest} (redirected by ${object.key}) is not in the store: give --store (and --overlay) the store(s) the tree was built from`)
    found.set(digest, { digest, key: `${digestAlgorithm(digest)}/${digestHex(digest)}`, size: statSync(file).size, file })
  }
  return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : 1))
}

/** What a target holds of the blobs: key -> size. */
type Holdings = Map<string, number>

/**
 * Sends the blobs the tree redirects to `target` (`dir:PATH` or `s3://BUCKET[/PREFIX]`), each at
 * `ALGORITHM/HEX`: the layout of an OCI layout's `blobs/` directory, which a CDN serves as it is for the
 * URL template `BASE/{algorithm}/{hex}`. A blob the target holds with its size already is skipped (blobs
 * are named by their digest). Each write is whole (a temp file and a rename; one S3 PUT). Run before the
 * tree itself is published, so no redirect names a missing blob. PUBLISH_TARGET_INVALID for another
 * target; the S3 errors of publish.
 */
export async function publishBlobs(blobs: RedirectedBlob[], target: string, s3: S3ConnectionOptions, options: PublishOptions = {}): Promise<PublishSummary> {
  const started = performance.now()
  const summary: PublishSummary = { target, dryRun: options.dryRun ?? false, uploaded: 0, copied: 0, skipped: 0, deleted: 0, bytes: 0, seconds: 0 }
  const limit = pLimit(options.jobs ?? defaultPublishJobs)
  let holdings: Holdings
  let write: (blob: RedirectedBlob) => Promise<'copied' | 'uploaded'>
  let finish = () => {}
  if (target.startsWith('dir:') && target.length > 4) {
    const root = resolve(target.slice(4))
    summary.target = `dir:${root}`
    holdings = new Map(blobs.flatMap((blob) => (existsSync(join(root, blob.key)) ? [[blob.key, statSync(join(root, blob.key)).size] as const] : [])))
    write = async (blob) => {
      await mkdir(join(root, digestAlgorithm(blob.digest)), { recursive: true })
      const counts = { uploaded: 0, copied: 0, bytes: 0 }
      await copyFileAtomic(blob.file, join(root, blob.key), counts)
      return counts.copied > 0 ? 'copied' : 'uploaded'
    }
  } else {
    const { parseS3Target, S3Bucket } = await import('./s3-bucket.js')
    const location = parseS3Target(target)
    if (location === undefined) throw new ZregError('PUBLISH_TARGET_INVALID', `--blobs-to ${JSON.stringify(target)} is neither dir:PATH nor s3://BUCKET[/PREFIX]`)
    summary.target = `s3://${location.bucket}/${location.prefix}`
    const bucket = new S3Bucket(location, s3)
    finish = () => bucket.destroy()
    await bucket.check()
    holdings = await bucket.list()
    write = async (blob) => {
      await bucket.upload(blob.key, blob.file, blob.size, { contentType: MediaTypes.OctetStream, cacheControl: immutableCacheControl })
      return 'uploaded'
    }
  }
  try {
    const missing = blobs.filter((blob) => holdings.get(blob.key) !== blob.size)
    summary.skipped = blobs.length - missing.length
    if (options.dryRun) {
      const actions: PublishAction[] = missing.map((blob) => ({ action: 'upload', key: blob.key, bytes: blob.size }))
      return { ...summary, uploaded: missing.length, bytes: missing.reduce((sum, blob) => sum + blob.size, 0), actions, seconds: (performance.now() - started) / 1000 }
    }
    await Promise.all(
      missing.map((blob) =>
        limit(async () => {
          if ((await write(blob)) === 'copied') summary.copied++
          else {
            summary.uploaded++
            summary.bytes += blob.size
          }
        }),
      ),
    )
    return { ...summary, seconds: (performance.now() - started) / 1000 }
  } finally {
    finish()
  }
}
