import { createCipheriv, createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface LargeImage {
  layout: string
  ref: string
  layer: { digest: string; size: number; bytes: Buffer }
  manifestDigest: string
}

/** Deterministic incompressible bytes (an AES-CTR keystream). */
function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest()
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size))
}

async function putBlob(layout: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(bytes).digest('hex')
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}

/** An OCI layout with one image whose single layer is `size` bytes: big enough to be streamed, not cached. */
export async function makeLargeImage(dir: string, size: number, ref = 'big/blob:1'): Promise<LargeImage> {
  const layout = join(dir, 'large-layout')
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  const bytes = pseudoRandom(size, ref)
  const layer = await putBlob(layout, bytes)
  const config = await putBlob(layout, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }),
  )
  const stored = await putBlob(layout, manifest)
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...stored, annotations: { 'org.opencontainers.image.ref.name': ref } }] }),
  )
  return { layout, ref, layer: { ...layer, bytes }, manifestDigest: stored.digest }
}
