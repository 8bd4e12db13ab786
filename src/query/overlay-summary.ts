import { StoreStack } from '../store/store-stack.js'
import type { RefReader } from '../store/store.js'

/** What one overlay of a stack supplies: its tags, and how many of them hide a lower store's tag. */
export interface OverlaySummary {
  store: string
  tags: number
  shadowing: number
}

/** What each overlay of `store` supplies, in stacking order; undefined for a plain store. */
export async function overlaySummaries(store: RefReader): Promise<OverlaySummary[] | undefined> {
  if (!(store instanceof StoreStack)) return undefined
  const refs = await store.stackedRefs()
  return store.overlays.map((location) => {
    const supplied = refs.filter((stacked) => stacked.source === location && stacked.ref.tag !== undefined)
    return { store: location, tags: supplied.length, shadowing: supplied.filter((stacked) => stacked.shadows.length > 0).length }
  })
}
