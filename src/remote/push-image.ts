import { createReadStream } from 'node:fs'
import pLimit from 'p-limit'
import type { Digest } from '../oci/digest.js'
import type { RegistryClient } from './registry-client.js'

/** A blob to push, and the file holding its bytes. */
export interface PushBlob {
  digest: Digest
  size: number
  path: string
}

/** A manifest to push: its bytes as stored (its digest is theirs), and its media type. */
export interface PushManifest {
  digest: Digest
  mediaType: string
  bytes: Buffer
}

export interface PushResult {
  /** Blobs sent, and their bytes. */
  uploaded: number
  bytes: number
  /** Blobs the registry mounted from another repository (no bytes sent). */
  mounted: number
  /** Blobs the repository had already. */
  existing: number
}

/** Blobs up to this size go up in one request (POST, then PUT with the bytes); bigger ones in chunks of it. */
export const chunkBytes = 16 * 1024 * 1024

/**
 * Pushes an image to `repository` of the registry `client` talks to, as the distribution-spec's
 * "Pushing" section says: first whether the repository has each blob (HEAD, all at once, `jobs` at a
 * time), then the missing ones (a cross-repository mount from `mountFrom` when given, else an upload:
 * one PUT for blobs up to chunkBytes, PATCHes of chunkBytes and a closing PUT for bigger ones), then
 * `manifests` in order (an index's children before it), the last under `reference` (a tag or its
 * digest), the others by digest. Errors are the client's (REMOTE_UNAUTHORIZED, REMOTE_INVALID, ...).
 */
export async function pushImage(
  client: RegistryClient,
  repository: string,
  reference: string,
  blobs: readonly PushBlob[],
  manifests: readonly PushManifest[],
  options: { mountFrom?: string; jobs?: number } = {},
): Promise<PushResult> {
  const limit = pLimit(options.jobs ?? 8)
  const result: PushResult = { uploaded: 0, bytes: 0, mounted: 0, existing: 0 }
  const present = await Promise.all(blobs.map((blob) => limit(() => client.blobExists(repository, blob.digest))))
  const missing = blobs.filter((_, i) => !present[i])
  result.existing = blobs.length - missing.length
  await Promise.all(
    missing.map((blob) =>
      limit(async () => {
        const mount = options.mountFrom !== undefined && options.mountFrom !== repository ? { digest: blob.digest, from: options.mountFrom } : undefined
        const started = await client.blobUploadStart(repository, mount)
        if ('mounted' in started) {
          result.mounted++
          return
        }
        let location = started.location
        const part = (start: number, length: number) => ({ start, length, body: () => (length === 0 ? Buffer.alloc(0) : createReadStream(blob.path, { start, end: start + length - 1 })) })
        if (blob.size <= chunkBytes) {
          await client.blobUploadSend(location, repository, part(0, blob.size), blob.digest)
        } else {
          for (let start = 0; start < blob.size; start += chunkBytes) location = await client.blobUploadSend(location, repository, part(start, Math.min(chunkBytes, blob.size - start)))
          await client.blobUploadSend(location, repository, part(blob.size, 0), blob.digest)
        }
        result.uploaded++
        result.bytes += blob.size
      }),
    ),
  )
  for (const [i, manifest] of manifests.entries()) {
    await client.manifestPut(repository, i === manifests.length - 1 ? reference : manifest.digest, manifest.bytes, manifest.mediaType)
  }
  return result
}
