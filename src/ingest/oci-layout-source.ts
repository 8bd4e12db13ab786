import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, isDigest, type Digest } from '../oci/digest.js'
import type { Descriptor } from '../oci/manifest.js'
import { refNameAnnotation } from '../oci/annotations.js'
import type { BlobSource } from './copy-image.js'


/** One manifest a layout offers, with the name index.json gives it (if any). */
export interface LayoutEntry {
  refName?: string
  descriptor: Descriptor
}

/** Reads an OCI image layout directory (a source, not the store). */
export class OciLayoutSource implements BlobSource {
  readonly name: string

  constructor(private readonly dir: string, displayName = `oci:${dir}`) {
    this.name = displayName
  }

  async open(digest: Digest): Promise<Readable | undefined> {
    const path = join(this.dir, 'blobs', digestAlgorithm(digest), digestHex(digest))
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    return handle?.createReadStream()
  }

  async entries(): Promise<LayoutEntry[]> {
    let text: string
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const hint = this.dir.endsWith('.tar') ? ' (for a tar file, use oci-archive: or docker-archive:)' : ''
        throw new ZregError('SOURCE_NOT_FOUND', `${this.name} is not an OCI image layout directory (no index.json)${hint}`)
      }
      throw error
    }
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
