import { Readable } from 'node:stream'
import pLimit, { type LimitFunction } from 'p-limit'
import { ZregError } from '../errors.js'
import { digestOf, type Digest } from '../oci/digest.js'
import { isImageConfig, maxManifestBytes, parseImageConfig, parseManifest, readManifestBytes, type Descriptor } from '../oci/manifest.js'
import { isDistributable } from '../oci/media-types.js'
import { configPlatform, formatPlatform, platformMatches, type Platform } from '../oci/platform.js'
import type { StoreStaging } from '../store/store.js'
import { mapLimit } from './map-limit.js'

/** Blobs copied at once by default: one's write and fsync overlap another's read and hashing; each holds a few MiB at most. */
const layerCopies = 4

/** Where an ingest reads blobs from: a layout directory, an archive read in place (see FileTree), a registry. */
export interface BlobSource {
  /** Names the source in messages. */
  readonly name: string
  /** The blob's bytes, or undefined when the source lacks it; `size` is what its descriptor declares. */
  open(digest: Digest, size?: number): Promise<Readable | undefined>
  /**
   * A manifest's bytes, for a source that serves manifests apart from blobs (a registry's
   * /manifests/ endpoint); other sources read manifests with open(). Verified by the copier.
   */
  manifestBytes?(descriptor: Descriptor): Promise<Buffer>
}

export interface IngestProgress {
  /** Bytes of blob content copied so far in this ingest. */
  bytes: number
  /** Blobs copied (or found already stored) so far. */
  blobs: number
  /** Of those, the blobs whose bytes were copied (not found stored); the copier's count only. */
  copied?: number
}

export interface CopyOptions {
  /**
   * Keep only these platforms of an index: one replaces the index by that platform's manifest (as
   * `skopeo copy` of one platform does); several give an index that lists only them (a new digest).
   */
  platforms?: Platform[]
  onProgress?: (progress: IngestProgress) => void
  /** Runs each blob transfer: shared by the copiers of a sync to bound transfers across images. */
  limit?: LimitFunction
  /** Transfers in flight by digest, shared by copiers into one staging so a blob two images need is fetched once. */
  inflight?: Map<Digest, Promise<void>>
}

/**
 * Copies one manifest, index or image (and everything it references) from a source into staging.
 * A manifest or blob the store (or staging) already holds is read from there, never fetched again.
 */
export class ImageCopier {
  private readonly progress: Required<IngestProgress> = { bytes: 0, blobs: 0, copied: 0 }
  private readonly limit: LimitFunction
  private readonly inflight: Map<Digest, Promise<void>>
  /** The first transfer's failure: transfers still queued behind the limit then give up instead of fetching. */
  private failure: unknown
  private readonly wanted: Platform[]
  /** Every manifest this copier stored or found stored, in the order copied: what referrers hang off. */
  readonly manifests: Descriptor[] = []

  constructor(
    private readonly source: BlobSource,
    private readonly staging: StoreStaging,
    private readonly options: CopyOptions = {},
  ) {
    this.limit = options.limit ?? pLimit(layerCopies)
    this.inflight = options.inflight ?? new Map()
    // `--platform linux/amd64` twice is one platform: its manifest, not an index of one.
    this.wanted = [...new Map((options.platforms ?? []).map((platform) => [formatPlatform(platform), platform])).values()]
  }

  private async openBlob(descriptor: Descriptor, what: string): Promise<Readable> {
    const stream = await this.source.open(descriptor.digest, descriptor.size)
    if (stream === undefined) {
      throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${this.source.name} lacks ${what} ${descriptor.digest}`)
    }
    return stream
  }

  /** Reads a small JSON blob (from staging when held, else the source) and checks it against its descriptor. */
  private async readVerified(descriptor: Descriptor, what: string): Promise<Buffer> {
    const bytes = (await this.staging.blobStat(descriptor.digest)) !== undefined
      ? await this.staging.blobBytes(descriptor.digest, maxManifestBytes)
      : what === 'manifest' && this.source.manifestBytes
        ? await this.source.manifestBytes(descriptor)
        : await this.readFromSource(descriptor, what)
    if (bytes.length !== descriptor.size) {
      throw new ZregError('SIZE_INVALID', `${what} ${descriptor.digest} is ${bytes.length} bytes, but its descriptor declares ${descriptor.size}`)
    }
    const actual = digestOf(bytes, descriptor.digest.slice(0, descriptor.digest.indexOf(':')))
    if (actual !== descriptor.digest) {
      throw new ZregError('DIGEST_INVALID', `${what} expected to be ${descriptor.digest} hashes to ${actual}`)
    }
    return bytes
  }

  private async readFromSource(descriptor: Descriptor, what: string): Promise<Buffer> {
    const stream = await this.openBlob(descriptor, what)
    return readManifestBytes(stream as AsyncIterable<Buffer>, `${what} ${descriptor.digest}`).finally(() => stream.destroy())
  }

  /**
   * True when the blob is already stored or staged, after checking its size against the descriptor:
   * a present blob is not copied again, but a wrong size must not slip through as a wrong Content-Length.
   */
  private async present(descriptor: Descriptor, what: string): Promise<boolean> {
    const size = await this.staging.blobStat(descriptor.digest)
    if (size === undefined) return false
    if (size !== descriptor.size) {
      throw new ZregError('SIZE_INVALID', `${what} ${descriptor.digest} is ${size} bytes, but its descriptor declares ${descriptor.size}`)
    }
    this.tick(0)
    return true
  }

  private async putBytes(bytes: Buffer, descriptor: Descriptor, what: string): Promise<void> {
    if (await this.present(descriptor, what)) return
    await this.staging.blobPut(Readable.from([bytes]), { digest: descriptor.digest, size: descriptor.size })
    this.tick(descriptor.size)
  }

  /** One blob done: `bytes` copied, or 0 when it was found stored. */
  private tick(bytes: number): void {
    this.progress.bytes += bytes
    this.progress.blobs += 1
    if (bytes > 0) this.progress.copied += 1
    this.options.onProgress?.({ ...this.progress })
  }

  /**
   * One transfer per digest at a time across the copiers sharing `inflight` (see once): another copier
   * that needs the blob then finds it staged. After a failure, transfers still queued give up.
   */
  private async copyBlob(descriptor: Descriptor, what: string): Promise<void> {
    try {
      await this.once(descriptor.digest, () =>
        this.limit(() => {
          if (this.failure !== undefined) throw this.failure
          return this.transfer(descriptor, what)
        }),
      )
    } catch (error) {
      this.failure ??= error
      throw error
    }
  }

  private async transfer(descriptor: Descriptor, what: string): Promise<void> {
    if (await this.present(descriptor, what)) return
    const stream = await this.source.open(descriptor.digest, descriptor.size)
    if (stream === undefined) {
      // Foreign layers are fetched by clients from their `urls`; the image is complete without them.
      if (!isDistributable(descriptor.mediaType) && descriptor.urls?.length) return
      throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${this.source.name} lacks ${what} ${descriptor.digest}`)
    }
    await this.staging.blobPut(stream, { digest: descriptor.digest, size: descriptor.size })
    this.tick(descriptor.size)
  }

  /**
   * Runs `task` for `digest`; when another copier sharing `inflight` is running it, waits for that one
   * first, so `task` finds its result in staging and fetches nothing (tags of one image synced at once).
   */
  private async once<T>(digest: Digest, task: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(digest)
    if (running !== undefined) await running.catch(() => undefined)
    const result = task()
    if (!this.inflight.has(digest)) {
      const settled = result.then(() => undefined)
      this.inflight.set(digest, settled)
      settled.catch(() => undefined).finally(() => {
        if (this.inflight.get(digest) === settled) this.inflight.delete(digest)
      })
    }
    return result
  }

  /** Copies `descriptor`'s manifest tree; returns the descriptor to record (narrowed by `platforms`). */
  async copy(descriptor: Descriptor): Promise<Descriptor> {
    return this.once(descriptor.digest, () => this.copyManifest(descriptor))
  }

  private async copyManifest(descriptor: Descriptor): Promise<Descriptor> {
    const bytes = await this.readVerified(descriptor, 'manifest')
    const parsed = parseManifest(bytes, descriptor.mediaType)
    const own: Descriptor = { mediaType: parsed.mediaType, digest: descriptor.digest, size: descriptor.size }
    const wanted = this.wanted
    if (parsed.kind === 'index') {
      if (wanted.length === 1) return this.copy(this.platformManifest(parsed.index.manifests, wanted[0]!, descriptor))
      if (wanted.length > 1) return this.copyNarrowed(bytes, parsed.index.manifests, wanted, own)
      await mapLimit(parsed.index.manifests, parsed.index.manifests.length, (child) => this.copy(child))
    } else {
      const { config, layers } = parsed.manifest
      if (isImageConfig(config.mediaType)) {
        await this.once(config.digest, async () => {
          const configBytes = await this.readVerified(config, 'config')
          const platform = configPlatform(parseImageConfig(configBytes))
          if (wanted.length > 0 && !wanted.some((one) => platformMatches(one, platform))) {
            throw new ZregError('PLATFORM_UNKNOWN', `image ${descriptor.digest} is ${formatPlatform(platform)}, not ${wanted.map(formatPlatform).join(' or ')}`)
          }
          await this.putBytes(configBytes, config, 'config')
        })
      } else {
        await this.copyBlob(config, 'config')
      }
      await mapLimit(layers, layers.length, (layer) => this.copyBlob(layer, 'layer'))
    }
    await this.putBytes(bytes, own, 'manifest')
    this.manifests.push(own)
    return own
  }

  private platformManifest(children: Descriptor[], wanted: Platform, index: Descriptor): Descriptor {
    const match = children.find((child) => platformMatches(wanted, child.platform))
    if (match === undefined) {
      const offered = children.map((child) => (child.platform ? formatPlatform(child.platform) : '?')).join(', ')
      throw new ZregError('PLATFORM_UNKNOWN', `no ${formatPlatform(wanted)} manifest in index ${index.digest} (it has: ${offered})`)
    }
    return match
  }

  /**
   * The index with only the children of the wanted platforms, every other field as it was; the same
   * index and platforms always give the same bytes, so a second sync finds it stored.
   */
  private async copyNarrowed(bytes: Buffer, children: Descriptor[], wanted: Platform[], index: Descriptor): Promise<Descriptor> {
    for (const one of wanted) this.platformManifest(children, one, index)
    const keep = (child: Descriptor) => wanted.some((one) => platformMatches(one, child.platform))
    const raw = JSON.parse(bytes.toString('utf8')) as { manifests: Descriptor[] }
    const narrowed = Buffer.from(JSON.stringify({ ...raw, manifests: raw.manifests.filter(keep) }))
    await mapLimit(children.filter(keep), children.length, (child) => this.copy(child))
    const own: Descriptor = { mediaType: index.mediaType, digest: digestOf(narrowed), size: narrowed.length }
    // Not in `manifests`: the source has no such manifest, so nothing refers to it there.
    await this.putBytes(narrowed, own, 'manifest')
    return own
  }
}
