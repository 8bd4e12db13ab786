import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import type { Digest } from '../oci/digest.js'
import { compareRefs, refKey, type LayoutStore } from './layout-store.js'
import type { BlobReader, LocalBlobPaths, StoredRef } from './store.js'

/** A reference of a stack, and the store (layer) it comes from. */
export interface StackedRef {
  ref: StoredRef
  /** The location of the store that supplies it. */
  source: string
  /** Locations of lower stores that hold the same reference, hidden by this one. */
  shadows: string[]
}

/**
 * Stores read as one, lowest first: a base and the overlays stacked on it (as Zuul's speculative
 * registry shows a change's images in place of the upstream ones). Where two hold the same reference
 * (`repository:tag`, or an untagged manifest of a repository), the later one wins; blobs are shared by
 * digest, read from the latest store that holds one, so an overlay needs only what its images add.
 * Read-only: a build and `zreg ls` read it; push mode writes into its top store (`top`).
 */
export class StoreStack implements BlobReader, LocalBlobPaths {
  readonly location: string

  constructor(private readonly layers: LayoutStore[]) {
    if (layers.length === 0) throw new Error('a store stack needs a base store')
    this.location = layers[0]!.location
  }

  /** The locations of the stores stacked on the base, lowest first. */
  get overlays(): string[] {
    return this.layers.slice(1).map((layer) => layer.location)
  }

  /** Every store's location, lowest first. */
  get locations(): string[] {
    return this.layers.map((layer) => layer.location)
  }

  /** The latest store: the one push mode writes into while it reads the stack. */
  get top(): LayoutStore {
    return this.layers.at(-1)!
  }

  /** Every reference the stack serves, with the store it comes from and the ones it hides, in refList order. */
  async stackedRefs(): Promise<StackedRef[]> {
    const byKey = new Map<string, StackedRef>()
    for (const layer of this.layers) {
      for (const ref of await layer.refList()) {
        const key = refKey(ref)
        const below = byKey.get(key)
        byKey.set(key, { ref, source: layer.location, shadows: below === undefined ? [] : [...below.shadows, below.source] })
      }
    }
    return [...byKey.values()].sort((a, b) => compareRefs(a.ref, b.ref))
  }

  /** Every reference the stack serves; one an overlay supplies names it (its directory's name: no path) as `source`. */
  async refList(): Promise<StoredRef[]> {
    const base = this.layers[0]!.location
    return (await this.stackedRefs()).map((stacked) => (stacked.source === base ? stacked.ref : { ...stacked.ref, source: basename(stacked.source) }))
  }

  async blobStat(digest: Digest): Promise<number | undefined> {
    for (const layer of this.topDown()) {
      const size = await layer.blobStat(digest)
      if (size !== undefined) return size
    }
    return undefined
  }

  async blobRead(digest: Digest, range?: { start: number; end: number }): Promise<Readable> {
    return (await this.holder(digest)).blobRead(digest, range)
  }

  async blobBytes(digest: Digest, maxBytes: number): Promise<Buffer> {
    return (await this.holder(digest)).blobBytes(digest, maxBytes)
  }

  /** The file of the latest store that holds the blob; the base's path (missing) when none does. */
  blobPath(digest: Digest): string {
    for (const layer of this.topDown()) {
      const path = layer.blobPath(digest)
      if (existsSync(path)) return path
    }
    return this.layers[0]!.blobPath(digest)
  }

  private topDown(): LayoutStore[] {
    return [...this.layers].reverse()
  }

  private async holder(digest: Digest): Promise<LayoutStore> {
    for (const layer of this.topDown()) if ((await layer.blobStat(digest)) !== undefined) return layer
    throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is in none of the stores ${this.layers.map((layer) => layer.location).join(', ')}`)
  }
}
