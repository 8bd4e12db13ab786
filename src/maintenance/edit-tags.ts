import { ZregError } from '../errors.js'
import { isDigest } from '../oci/digest.js'
import { checkRepository, checkTag, parseManifestReference, type ManifestReference } from '../oci/reference.js'
import type { LayoutStore } from '../store/layout-store.js'
import { matching, removeManifest } from '../store/ref-edits.js'
import type { StoredRef } from '../store/store.js'

/**
 * Points tag `target` at the manifest `source` names (in any repository of the store: blobs are shared,
 * so no bytes move). Checked as every write is (the names, the tree's collisions), under the index lock.
 * MANIFEST_UNKNOWN when the source is not in the store. Returns the new reference.
 */
export async function tagManifest(store: LayoutStore, source: ManifestReference, target: { repository: string; tag: string }): Promise<StoredRef> {
  const found = matching(await store.refList(), source)[0]
  if (found === undefined) throw new ZregError('MANIFEST_UNKNOWN', `${source.repository}${isDigest(source.reference) ? '@' : ':'}${source.reference} is not in the store`)
  const { platform, mediaType, digest, size } = found.descriptor
  // The new tag is added now: only the descriptor itself is copied, not the source tag's annotations.
  const ref: StoredRef = { repository: checkRepository(target.repository), tag: checkTag(target.tag), descriptor: { mediaType, digest, size, ...(platform ? { platform } : {}) } }
  const staging = await store.stage()
  try {
    await staging.commit([ref])
  } finally {
    await staging.abort()
  }
  return ref
}

/** `zreg tag SOURCE TARGET`: SOURCE is `REPO:TAG` or `REPO@DIGEST`, TARGET `REPO:TAG` (tagManifest). */
export function tagImage(store: LayoutStore, source: string, target: string): Promise<StoredRef> {
  const to = parseManifestReference(target, 'TARGET')
  if (isDigest(to.reference)) throw new ZregError('TAG_INVALID', `TARGET ${JSON.stringify(target)} names a digest: a tag is REPOSITORY:TAG`)
  return tagManifest(store, parseManifestReference(source, 'SOURCE'), { repository: to.repository, tag: to.reference })
}

/** `zreg rm REFERENCE`: a tag, or a manifest by digest with its tags (removeManifest). */
export function removeImage(store: LayoutStore, reference: string): Promise<StoredRef[]> {
  return removeManifest(store, parseManifestReference(reference, 'REFERENCE'))
}
