import { ZregError } from '../errors.js'
import { isDigest } from '../oci/digest.js'
import type { ManifestReference } from '../oci/reference.js'
import { refKey, type LayoutStore } from './layout-store.js'
import type { StoredRef } from './store.js'

/** The refs of `repository` that `reference` names: its tag, or every ref (tags and untagged) of a digest. */
export function matching(refs: StoredRef[], { repository, reference }: ManifestReference): StoredRef[] {
  return refs.filter((ref) => ref.repository === repository && (isDigest(reference) ? ref.descriptor.digest === reference : ref.tag === reference))
}

/**
 * Removes the references `target` names: a tag, or (by digest) the manifest from the repository with
 * every tag naming it, as the distribution-spec's manifest DELETE does; decided under the index lock, so
 * a tag moved meanwhile is not removed by mistake. The bytes stay until `zreg gc`. MANIFEST_UNKNOWN when
 * nothing matches. Returns what was removed.
 */
export async function removeManifest(store: LayoutStore, target: ManifestReference): Promise<StoredRef[]> {
  const unknown = () => new ZregError('MANIFEST_UNKNOWN', 'manifest unknown', { detail: isDigest(target.reference) ? { Digest: target.reference } : { Tag: target.reference } })
  // Nothing to remove: the index is not written at all.
  if (matching(await store.refList(), target).length === 0) throw unknown()
  let doomed: StoredRef[] = []
  await store.updateIndex((current) => {
    doomed = matching([...current.values()], target)
    for (const ref of doomed) current.delete(refKey(ref))
  })
  if (doomed.length === 0) throw unknown()
  return doomed
}
