import { ZregError } from '../errors.js'
import { isDigest, type Digest } from './digest.js'
import { isImageManifest, isIndex, MediaTypes } from './media-types.js'
import { configPlatform, type Platform } from './platform.js'
import { validateAgainstSchema, type SchemaName } from './validate.js'

/** The registry limit for a manifest body, as distribution enforces it. */
export const maxManifestBytes = 4 * 1024 * 1024

/** Collects a manifest (or config) body, refusing one over the manifest limit before it is all read. */
export async function readManifestBytes(body: AsyncIterable<Buffer>, what: string, limit = maxManifestBytes): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > limit) throw new ZregError('MANIFEST_TOO_LARGE', `${what} is over the ${limit}-byte limit`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  platform?: Platform
  artifactType?: string
  data?: string
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export type ParsedManifest =
  | { kind: 'image'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex }

const schemaForMediaType: Record<string, SchemaName> = {
  [MediaTypes.OciManifest]: 'oci-manifest',
  [MediaTypes.OciIndex]: 'oci-index',
  [MediaTypes.DockerManifest]: 'docker-manifest',
  [MediaTypes.DockerManifestList]: 'docker-manifest-list',
}

function parseJson(bytes: Uint8Array, what: string, code: 'MANIFEST_INVALID' | 'CONFIG_INVALID'): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (error) {
    throw new ZregError(code, `${what} is not valid JSON: ${(error as Error).message}`)
  }
}

/** The media type a manifest declares, or the one its shape implies (OCI allows leaving it out). */
function detectMediaType(json: Record<string, unknown>, declared: string | undefined): string {
  const own = typeof json.mediaType === 'string' ? json.mediaType : undefined
  if (own !== undefined && declared !== undefined && own !== declared) {
    throw new ZregError('MANIFEST_INVALID', `manifest says mediaType "${own}", but it was declared (by its descriptor or Content-Type) as "${declared}"`)
  }
  const mediaType = own ?? declared ?? (Array.isArray(json.manifests) ? MediaTypes.OciIndex : MediaTypes.OciManifest)
  if (schemaForMediaType[mediaType] === undefined) {
    throw new ZregError('MANIFEST_INVALID', `unsupported manifest media type "${mediaType}" (zreg stores OCI and Docker schema2 manifests and indexes)`)
  }
  return mediaType
}

function checkDescriptorDigests(descriptors: Descriptor[], where: string): void {
  for (const descriptor of descriptors) {
    if (!isDigest(descriptor.digest)) {
      throw new ZregError('DIGEST_INVALID', `${where} references "${descriptor.digest}", which is not a sha256 or sha512 digest`)
    }
  }
}

/**
 * Parses and validates a manifest or index against its JSON Schema. `declaredMediaType` is what the
 * referencing descriptor (or a Content-Type) says; it must agree with the body. `validate: false` is for
 * content that was validated on its way into the store.
 */
export function parseManifest(bytes: Uint8Array, declaredMediaType?: string, options: { validate?: boolean } = {}): ParsedManifest {
  if (bytes.byteLength > maxManifestBytes) {
    throw new ZregError('MANIFEST_INVALID', `manifest is ${bytes.byteLength} bytes, over the ${maxManifestBytes}-byte limit`)
  }
  const json = parseJson(bytes, 'manifest', 'MANIFEST_INVALID')
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ZregError('MANIFEST_INVALID', 'manifest is not a JSON object')
  }
  const record = json as Record<string, unknown>
  const mediaType = detectMediaType(record, declaredMediaType)
  if (options.validate !== false) validateAgainstSchema(schemaForMediaType[mediaType]!, record, 'MANIFEST_INVALID', `${mediaType} manifest`)
  if (isIndex(mediaType)) {
    const index = record as unknown as ImageIndex
    checkDescriptorDigests(index.manifests, 'index')
    if (index.subject) checkDescriptorDigests([index.subject], 'index subject')
    return { kind: 'index', mediaType, index }
  }
  const manifest = record as unknown as ImageManifest
  checkDescriptorDigests([manifest.config, ...manifest.layers], 'manifest')
  if (manifest.subject) checkDescriptorDigests([manifest.subject], 'manifest subject')
  if (!isImageManifest(mediaType)) throw new ZregError('MANIFEST_INVALID', `unexpected media type ${mediaType}`)
  return { kind: 'image', mediaType, manifest }
}

/** Config media types whose bodies are runnable-image configs and so must pass the config schema. */
export function isImageConfig(mediaType: string): boolean {
  return mediaType === MediaTypes.OciConfig || mediaType === MediaTypes.DockerConfig
}

export interface ImageConfig {
  architecture: string
  os: string
  variant?: string
  created?: string
  rootfs: { type: string; diff_ids: string[] }
  config?: Record<string, unknown>
  history?: unknown[]
}

/**
 * The platform an image config's bytes name (os, architecture, variant), read without validating the
 * rest; undefined when they are no JSON or name none.
 */
export function configPlatformOf(bytes: Uint8Array): Platform | undefined {
  let config: { os?: unknown; architecture?: unknown; variant?: unknown }
  try {
    config = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof config
  } catch {
    return undefined
  }
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return undefined
  return configPlatform({ os: config.os, architecture: config.architecture, ...(typeof config.variant === 'string' ? { variant: config.variant } : {}) })
}

export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  const json = parseJson(bytes, 'image config', 'CONFIG_INVALID')
  validateAgainstSchema('oci-config', json, 'CONFIG_INVALID', 'image config')
  return json as ImageConfig
}

/** Every descriptor a manifest points at: config and layers, or an index's children. */
export function referencedDescriptors(parsed: ParsedManifest): Descriptor[] {
  return parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers]
}

export function subjectOf(parsed: ParsedManifest): Descriptor | undefined {
  return parsed.kind === 'index' ? parsed.index.subject : parsed.manifest.subject
}

/** The artifactType a referrers response lists: the manifest's own, else its config's media type. */
export function artifactTypeOf(parsed: ParsedManifest): string | undefined {
  if (parsed.kind === 'index') return parsed.index.artifactType
  return parsed.manifest.artifactType ?? parsed.manifest.config.mediaType
}

export function annotationsOf(parsed: ParsedManifest): Record<string, string> | undefined {
  return parsed.kind === 'index' ? parsed.index.annotations : parsed.manifest.annotations
}
