import { ZregError } from '../errors.js'
import type { Digest } from '../oci/digest.js'
import { isImageConfig, maxManifestBytes, parseImageConfig, parseManifest, type Descriptor } from '../oci/manifest.js'
import { configPlatform, formatPlatform } from '../oci/platform.js'
import { parseImageReference } from '../oci/reference.js'
import type { Store } from '../store/store.js'

export interface InspectedImage {
  digest: string
  mediaType: string
  size: number
  platform?: string
  artifactType?: string
  config?: Descriptor
  layers: Descriptor[]
  /** Layers' bytes added up (compressed, as pulled). */
  totalSize: number
  subject?: Descriptor
}

export interface InspectResult {
  name: string
  digest: string
  mediaType: string
  /** One entry for an image, one per platform for an index. */
  images: InspectedImage[]
}

async function inspectManifest(store: Store, descriptor: Descriptor, platform?: string): Promise<InspectedImage[]> {
  const parsed = parseManifest(await store.blobBytes(descriptor.digest, maxManifestBytes), descriptor.mediaType || undefined)
  if (parsed.kind === 'index') {
    const children = await Promise.all(
      parsed.index.manifests.map((child) => inspectManifest(store, child, child.platform ? formatPlatform(child.platform) : undefined)),
    )
    return children.flat()
  }
  const { config, layers, subject, artifactType } = parsed.manifest
  let shownPlatform = platform
  if (shownPlatform === undefined && isImageConfig(config.mediaType)) {
    const image = parseImageConfig(await store.blobBytes(config.digest, maxManifestBytes))
    shownPlatform = formatPlatform(configPlatform(image))
  }
  return [
    {
      digest: descriptor.digest,
      mediaType: parsed.mediaType,
      size: descriptor.size,
      ...(shownPlatform ? { platform: shownPlatform } : {}),
      ...(artifactType ? { artifactType } : {}),
      config,
      layers,
      totalSize: layers.reduce((sum, layer) => sum + layer.size, 0),
      ...(subject ? { subject } : {}),
    },
  ]
}

/** What REPO:TAG or REPO@DIGEST in the store is: platforms, layers and sizes. */
export async function inspectImage(store: Store, reference: string): Promise<InspectResult> {
  const ref = parseImageReference(reference, { defaultTag: 'latest' })
  const refs = await store.refList()
  const found = refs.find((candidate) =>
    candidate.repository === ref.repository && (ref.digest !== undefined ? candidate.descriptor.digest === ref.digest : candidate.tag === ref.tag),
  )
  let descriptor = found?.descriptor
  if (descriptor === undefined && ref.digest !== undefined && refs.some((candidate) => candidate.repository === ref.repository)) {
    // A child of an index has no ref of its own but is part of the repository.
    const size = await store.blobStat(ref.digest as Digest)
    if (size !== undefined) descriptor = { mediaType: '', digest: ref.digest, size }
  }
  if (descriptor === undefined) throw new ZregError('MANIFEST_UNKNOWN', `${reference} is not in the store`)
  const images = await inspectManifest(store, descriptor)
  const top = images.length === 1 && images[0]!.digest === descriptor.digest ? images[0]!.mediaType : undefined
  return { name: reference, digest: descriptor.digest, mediaType: top ?? descriptor.mediaType, images }
}
