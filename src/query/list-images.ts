import { ZregError } from '../errors.js'
import { StoreStack } from '../store/store-stack.js'
import type { RefReader } from '../store/store.js'

export interface ListedTag {
  tag: string
  digest: string
  mediaType: string
  size: number
  /** The store the tag comes from (with `sources`). */
  source?: string
  /** Lower stores of a stack whose tag of the same name this one hides (with `sources`). */
  shadows?: string[]
}

export interface ListedRepository {
  name: string
  tags: ListedTag[]
  /** Manifests kept without a tag (pushed by digest, referrers). */
  untagged: string[]
}

/**
 * Repositories and their tags, sorted; only `repository` when one is named (NAME_UNKNOWN when it has no
 * references). `sources`: each tag names the store it comes from (a stack's layer, see store-stack.ts).
 */
export async function listRepositories(store: RefReader, repository?: string, options: { sources?: boolean } = {}): Promise<ListedRepository[]> {
  const byName = new Map<string, ListedRepository>()
  const stacked = store instanceof StoreStack ? await store.stackedRefs() : (await store.refList()).map((ref) => ({ ref, source: store.location, shadows: [] }))
  for (const { ref, source, shadows } of stacked) {
    if (repository !== undefined && ref.repository !== repository) continue
    let entry = byName.get(ref.repository)
    if (!entry) {
      entry = { name: ref.repository, tags: [], untagged: [] }
      byName.set(ref.repository, entry)
    }
    const { digest, mediaType, size } = ref.descriptor
    if (ref.tag === undefined) entry.untagged.push(digest)
    else entry.tags.push({ tag: ref.tag, digest, mediaType, size, ...(options.sources ? { source, shadows } : {}) })
  }
  if (repository !== undefined && byName.size === 0) throw new ZregError('NAME_UNKNOWN', `repository ${repository} is not in the store`)
  return [...byName.values()]
}
