import type { Descriptor } from '../oci/manifest.js'
import type { Platform } from '../oci/platform.js'
import type { StoreStaging } from '../store/store.js'
import type { IngestProgress } from './copy-image.js'
import type { ManifestFormat } from './docker-archive.js'

/** How an image is stored: the choices `zreg add` passes down. */
export interface StoreImageOptions {
  /** Keep these platforms of an index (see CopyOptions.platforms). */
  platforms?: Platform[]
  /** What images that are not already OCI or Docker schema2 manifests become (docker-archive). */
  format?: ManifestFormat
  onProgress?: (progress: IngestProgress) => void
}

/** What storing one image gave: the descriptor to record under its names, and manifests to keep untagged beside it. */
export interface StoredImage {
  descriptor: Descriptor
  /** Manifests whose `subject` is the image (signatures, SBOMs, attestations), recorded untagged in its repository. */
  referrers?: Descriptor[]
}

/**
 * One image a source offers, with the names the source gives it: REPO:TAG, REPO@DIGEST (kept untagged
 * unless --name gives a tag), or a bare ref name.
 */
export interface SourceImage {
  names: string[]
  /** Stores the image and everything it references in staging. */
  store(staging: StoreStaging, options: StoreImageOptions): Promise<StoredImage>
}

/**
 * The images one SOURCE holds, as its transport reads them (one module per transport; `add` knows
 * none of them). select(undefined) gives every image the source names; a reference that matches
 * nothing is SOURCE_NOT_FOUND, listing what there is.
 */
export interface ImageSource {
  select(reference: string | undefined): Promise<SourceImage[]>
  /** Releases what the source holds open (a registry's connections). */
  close?(): Promise<void>
}
