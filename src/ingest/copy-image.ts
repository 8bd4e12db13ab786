import { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { digestOf, type Digest } from '../oci/digest.js'
import { isImageConfig, parseImageConfig, parseManifest, readManifestBytes, type Descriptor } from '../oci/manifest.js'
import { isDistributable } from '../oci/media-types.js'
import { configPlatform, formatPlatform, platformMatches, type Platform } from '../oci/platform.js'
import type { StoreStaging } from '../store/store.js'
import { mapLimit } from './map-limit.js'

/** Blobs copied at once: one's write and fsync overlap another's read and hashing; each holds a few MiB at most. */
const layerCopies = 4

/** Where an ingest reads blobs from: a layout directory, or an archive read in place (see FileTree). */
export interface BlobSource {
  /** Names the source in messages. */
  readonly name: string
  /** The blob's bytes, or undefined when the source lacks it. */
  open(digest: Digest): Promise<Readable | undefined>
}

export interface IngestProgress {
  /** Bytes of blob content copied so far in this ingest. */
  bytes: number
  /** Blobs copied (or found already stored) so far. */
  blobs: number
}

export interface CopyOptions {
  /** Keep only this platform of an index (the index is replaced by that platform's manifest). */
  platform?: Platform
  onProgress?: (progress: IngestProgress) => void
}

/** Copies one manifest, index or image (and everything it references) from a source into staging. */
export class ImageCopier {
  private readonly progress: IngestProgress = { bytes: 0, blobs: 0 }

  constructor(
    private readonly source: BlobSource,
    private readonly staging: StoreStaging,
    private readonly options: CopyOptions = {},
  ) {}

  private async openBlob(descriptor: Descriptor, what: string): Promise<Readable> {
    const stream = await this.source.open(descriptor.digest)
    if (stream === undefined) {
      throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${this.source.name} lacks ${what} ${descriptor.digest}`)
    }
    return stream
  }

  /** Reads a small JSON blob from the source and checks it against its descriptor. */
  private async readVerified(descriptor: Descriptor, what: string): Promise<Buffer> {
    const stream = await this.openBlob(descriptor, what)
    const bytes = await readManifestBytes(stream as AsyncIterable<Buffer>, `${what} ${descriptor.digest}`).finally(() => stream.destroy())
    if (bytes.length !== descriptor.size) {
      throw new ZregError('SIZE_INVALID', `${what} ${descriptor.digest} is ${bytes.length} bytes, but its descriptor declares ${descriptor.size}`)
    }
    const actual = digestOf(bytes, descriptor.digest.slice(0, descriptor.digest.indexOf(':')))
    if (actual !== descriptor.digest) {
      throw new ZregError('DIGEST_INVALID', `${what} expected to be ${descriptor.digest} hashes to ${actual}`)
    }
    return bytes
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
    this.tick(0)
  }

  private tick(bytes: number): void {
    this.progress.bytes += bytes
    this.progress.blobs += 1
    this.options.onProgress?.({ ...this.progress })
  }

  private async copyBlob(descriptor: Descriptor, what: string): Promise<void> {
    if (await this.present(descriptor, what)) return
    const stream = await this.source.open(descriptor.digest)
    if (stream === undefined) {
      // Foreign layers are fetched by clients from their `urls`; the image is complete without them.
      if (!isDistributable(descriptor.mediaType) && descriptor.urls?.length) return
      throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${this.source.name} lacks ${what} ${descriptor.digest}`)
    }
    await this.staging.blobPut(stream, { digest: descriptor.digest, size: descriptor.size })
    this.tick(descriptor.size)
  }

  /** Copies `descriptor`'s manifest tree; returns the descriptor to record (narrowed by --platform). */
  async copy(descriptor: Descriptor): Promise<Descriptor> {
    const bytes = await this.readVerified(descriptor, 'manifest')
    const parsed = parseManifest(bytes, descriptor.mediaType)
    const own: Descriptor = { mediaType: parsed.mediaType, digest: descriptor.digest, size: descriptor.size }
    if (parsed.kind === 'index') {
      const wanted = this.options.platform
      if (wanted !== undefined) {
        const match = parsed.index.manifests.find((child) => platformMatches(wanted, child.platform))
        if (match === undefined) {
          const offered = parsed.index.manifests.map((child) => (child.platform ? formatPlatform(child.platform) : '?')).join(', ')
          throw new ZregError('PLATFORM_UNKNOWN', `no ${formatPlatform(wanted)} manifest in index ${descriptor.digest} (it has: ${offered})`)
        }
        return this.copy(match)
      }
      for (const child of parsed.index.manifests) await this.copy(child)
    } else {
      const { config, layers } = parsed.manifest
      if (isImageConfig(config.mediaType)) {
        const configBytes = await this.readVerified(config, 'config')
        const image = parseImageConfig(configBytes)
        const wanted = this.options.platform
        const platform = configPlatform(image)
        if (wanted !== undefined && !platformMatches(wanted, platform)) {
          throw new ZregError('PLATFORM_UNKNOWN', `image ${descriptor.digest} is ${formatPlatform(platform)}, not ${formatPlatform(wanted)}`)
        }
        await this.putBytes(configBytes, config, 'config')
      } else {
        await this.copyBlob(config, 'config')
      }
      await mapLimit(layers, layerCopies, (layer) => this.copyBlob(layer, 'layer'))
    }
    await this.putBytes(bytes, own, 'manifest')
    return own
  }
}
