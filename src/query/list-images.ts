import { ZregError } from '../errors.js'
import type { Store } from '../store/store.js'

export interface ListedTag {
  tag: string
  digest: string
  mediaType: string
  size: number
}

export interface ListedRepository {
  name: string
  tags: ListedTag[]
  /** Manifests kept without a tag (pushed by digest, referrers). */
  untagged: string[]
}

/** Repositories and their tags, sorted; only `repository` when one is named (NAME_UNKNOWN when it has no references). */
export async function listRepositories(store: Store, repository?: string): Promise<ListedRepository[]> {
  const byName = new Map<string, ListedRepository>()
  for (const ref of await store.refList()) {
    if (repository !== undefined && ref.repository !== repository) continue
    let entry = byName.get(ref.repository)
    if (!entry) {
      entry = { name: ref.repository, tags: [], untagged: [] }
      byName.set(ref.repository, entry)
    }
    const { digest, mediaType, size } = ref.descriptor
    if (ref.tag === undefined) entry.untagged.push(digest)
    else entry.tags.push({ tag: ref.tag, digest, mediaType, size })
  }
  if (repository !== undefined && byName.size === 0) throw new ZregError('NAME_UNKNOWN', `repository ${repository} is not in the store`)
  return [...byName.values()]
}
