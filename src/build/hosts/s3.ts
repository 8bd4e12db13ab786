import { treeObjects } from '../tree-objects.js'
import type { HostConfig, HostConfigOptions, HostKind } from './host-kind.js'

/** s3-metadata.json: object key (relative to the bucket prefix) -> the headers S3 stores with it. */
export type S3Metadata = Record<string, { 'Content-Type': string; 'Cache-Control': string; 'Website-Redirect-Location'?: string }>

const usage = `Upload the tree with \`zreg publish s3://BUCKET/PREFIX\` (add --endpoint URL --path-style for an S3-compatible
server): it writes every object with the Content-Type and Cache-Control listed in s3-metadata.json, in an order
that never lets a tag name a missing object, and only what changed since the last publish. Serve the bucket
(or a CDN in front of it) so that GET /v2/ answers PREFIX/v2/index.html (website hosting's index document, or a
CDN rule) and every other /v2/ path answers the object of the same key; no reload is needed after a publish.

What S3 cannot do, and what clients do about it:
- No Docker-Content-Digest header: skopeo, podman, containerd and docker compute the digest of the manifest
  they receive themselves and check it against the digest they asked for, so pulls by tag and by digest work.
- No Accept negotiation: a tag naming an index answers the index to every client. Clients that accept
  indexes (all current ones) pick their platform from it; a client that accepts no index (docker before
  1.10, some scripts) cannot pull such a tag and must pull the platform's manifest by digest.
- Blobs \`zreg build --redirect\` sends elsewhere are empty objects with x-amz-website-redirect-location: the
  bucket's website endpoint answers them with a 301 to the target (S3 has no other status for it; the REST
  endpoint ignores it, so serve a bucket with redirects through its website endpoint).
- Errors are S3's (404 NoSuchKey, or 403 when the bucket lists nothing to anonymous readers), not the
  registry's JSON error body: clients act on the status code, so a missing tag reads as "not found" (or
  "denied" for 403: allow s3:ListBucket to get 404s).`

/** S3 (and S3-compatible buckets): the object metadata `zreg publish s3://` writes, and how to serve the bucket. */
export const s3Host: HostKind = {
  name: 's3',
  summary: 'S3 object metadata (Content-Type, Cache-Control per key); upload with zreg publish s3://',
  withoutAuth: 'a bucket answers 403 and never asks a client to log in, so docker, podman and skopeo cannot send credentials to it; keep private repositories in a bucket or prefix only a CDN with its own login (an edge function answering the Basic challenge) may read, or serve them with nginx, Caddy, Apache or zreg serve --auth',
  async configure(options: HostConfigOptions): Promise<HostConfig> {
    const { objects } = await treeObjects(options.tree)
    const metadata: S3Metadata = {}
    for (const object of objects) {
      metadata[object.key] = { 'Content-Type': object.contentType, 'Cache-Control': object.cacheControl, ...(object.redirect ? { 'Website-Redirect-Location': object.redirect.location } : {}) }
    }
    return { files: [{ name: 's3-metadata.json', contents: `${JSON.stringify(metadata, null, 1)}\n` }], usage }
  },
}
