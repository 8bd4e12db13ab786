import { realpathSync } from 'node:fs'
import { ZregError } from '../errors.js'
import { LayoutStore } from '../store/layout-store.js'
import { StoreStack } from '../store/store-stack.js'

/**
 * The store at `base` with the stores `overlays` stacked on it (lowest first), each of which must exist
 * (STORE_NOT_FOUND) but for the top one with `createTop` (push mode writes into it); the plain store
 * when there are none. USAGE when one store is named twice (by any path).
 */
export async function openStoreStack(base: string, overlays: readonly string[], options: { createTop?: boolean } = {}): Promise<LayoutStore | StoreStack> {
  const bottom = await LayoutStore.open(base, { create: false })
  const above = await Promise.all(overlays.map((dir, i) => LayoutStore.open(dir, { create: options.createTop === true && i === overlays.length - 1 })))
  const seen = new Map<string, string>()
  for (const store of [bottom, ...above]) {
    const real = realpathSync(store.location)
    const first = seen.get(real)
    if (first !== undefined) throw new ZregError('USAGE', `${store.location} is the same store as ${first}: each store of a stack is stacked once`)
    seen.set(real, store.location)
  }
  return above.length === 0 ? bottom : new StoreStack([bottom, ...above])
}

/**
 * Push mode's stores: with overlays, the stack reads see and its top store, which pushes go into (made
 * when missing); without, the store at `base` (made when missing) alone.
 */
export async function openPushStores(base: string, overlays: readonly string[]): Promise<{ store: LayoutStore; reads?: StoreStack }> {
  if (overlays.length === 0) return { store: await LayoutStore.open(base) }
  const stack = (await openStoreStack(base, overlays, { createTop: true })) as StoreStack
  return { store: stack.top, reads: stack }
}
