import type { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, isDigest, type Digest } from '../oci/digest.js'
import { maxManifestBytes, type Descriptor } from '../oci/manifest.js'
import { refNameAnnotation } from '../oci/annotations.js'
import { ImageCopier, type BlobSource } from './copy-image.js'
import type { ImageSource, SourceImage, StoreImageOptions } from './image-source.js'
import type { StoreStaging } from '../store/store.js'
import { readSmallFile, type FileTree } from './file-tree.js'

/** One manifest a layout offers, with the name index.json gives it (if any). */
export interface LayoutEntry {
  refName?: string
  descriptor: Descriptor
}

/** Reads an OCI image layout (a source, not the store) from a directory or an archive. */
export class OciLayoutSource implements BlobSource {
  constructor(private readonly tree: FileTree) {}

  get name(): string {
    return this.tree.name
  }

  async open(digest: Digest): Promise<Readable | undefined> {
    return this.tree.open(`blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`)
  }

  /** The manifests index.json lists; SOURCE_NOT_FOUND when the tree has no index.json. */
  async entries(): Promise<LayoutEntry[]> {
    const bytes = await readSmallFile(this.tree, 'index.json', maxManifestBytes)
    if (bytes === undefined) throw new ZregError('SOURCE_NOT_FOUND', `${this.name} is not an OCI image layout: it has no index.json`)
    const text = bytes.toString('utf8')
    let index: { manifests?: unknown }
    try {
      index = JSON.parse(text) as { manifests?: unknown }
    } catch (error) {
      throw new ZregError('MANIFEST_INVALID', `${this.name}/index.json is not valid JSON: ${(error as Error).message}`)
    }
    if (!Array.isArray(index.manifests)) throw new ZregError('MANIFEST_INVALID', `${this.name}/index.json has no manifests array`)
    return (index.manifests as Descriptor[]).map((descriptor) => {
      if (typeof descriptor?.digest !== 'string' || !isDigest(descriptor.digest) || typeof descriptor.size !== 'number') {
        throw new ZregError('MANIFEST_INVALID', `${this.name}/index.json has an entry without a valid digest and size`)
      }
      const refName = descriptor.annotations?.[refNameAnnotation]
      return typeof refName === 'string' ? { refName, descriptor } : { descriptor }
    })
  }
}

/** The entries SOURCE:REF picks: the one named REF, else every named one, else the only one. */
function selectEntries(entries: LayoutEntry[], reference: string | undefined, display: string): LayoutEntry[] {
  if (reference !== undefined) {
    const found = entries.filter((entry) => entry.refName === reference)
    if (found.length === 0) {
      const offered = entries.map((entry) => entry.refName).filter(Boolean).join(', ') || 'none'
      throw new ZregError('SOURCE_NOT_FOUND', `no image named "${reference}" in ${display} (it has: ${offered})`)
    }
    return found
  }
  const named = entries.filter((entry) => entry.refName !== undefined)
  if (named.length > 0) return named
  if (entries.length === 1) return entries
  throw new ZregError('SOURCE_AMBIGUOUS', `${display} holds ${entries.length} unnamed images; name one as SOURCE:REF`)
}

/** `oci:` and `oci-archive:`: images are copied byte for byte, so digests stay the same. */
export class OciLayoutImages implements ImageSource {
  private readonly layout: OciLayoutSource

  constructor(
    tree: FileTree,
    private readonly display: string,
  ) {
    this.layout = new OciLayoutSource(tree)
  }

  async select(reference: string | undefined): Promise<SourceImage[]> {
    const selected = selectEntries(await this.layout.entries(), reference, this.display)
    // One copier for the whole selection, so progress counts across images.
    let copier: ImageCopier | undefined
    return selected.map((entry) => ({
      names: entry.refName === undefined ? [] : [entry.refName],
      store: async (staging: StoreStaging, options: StoreImageOptions) => {
        copier ??= new ImageCopier(this.layout, staging, { ...(options.platforms ? { platforms: options.platforms } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) })
        return { descriptor: await copier.copy(entry.descriptor) }
      },
    }))
  }
}
