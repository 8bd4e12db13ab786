/**
 * Cache-Control for what a static tree serves, so a CDN in front of it caches safely: content named by
 * its digest (blobs, manifests by digest) never changes; tags, tag lists, the catalog, referrers lists
 * and `/v2/` change with the next build, so caches keep them only `maxAge` seconds (0: revalidate).
 */
export const immutableCacheControl = 'public, max-age=31536000, immutable'

/** Seconds a cache may keep what a build can change, unless `zreg build --cache-max-age` says otherwise. */
export const defaultCacheMaxAge = 60

export function mutableCacheControl(maxAge: number): string {
  return maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache'
}
