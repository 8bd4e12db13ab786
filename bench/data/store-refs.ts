import { LayoutStore, refKey } from '../../src/store/layout-store.js'

/** `repository:tag` -> manifest digest of every tag a zreg store holds, or undefined when there is no readable store. */
export async function storeRefs(dir: string): Promise<Map<string, string> | undefined> {
  try {
    const store = await LayoutStore.open(dir, { create: false })
    return new Map((await store.refList()).filter((ref) => ref.tag !== undefined).map((ref) => [refKey(ref), ref.descriptor.digest]))
  } catch {
    return undefined
  }
}
