import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A store of `repositories` x `tags` tiny images written directly as an OCI layout (no `zreg add` per tag). */
export async function makeScaleStore(dir: string, repositories: number, tags: number): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
  const put = async (bytes: Buffer) => {
    const hex = createHash('sha256').update(bytes).digest('hex')
    await writeFile(join(dir, 'blobs', 'sha256', hex), bytes)
    return { digest: `sha256:${hex}`, size: bytes.length }
  }
  const layer = await put(Buffer.from('shared layer'))
  const manifests = []
  for (let r = 0; r < repositories; r++) {
    for (let t = 0; t < tags; t++) {
      const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: { Env: [`R=${r}`, `T=${t}`] } })))
      const manifest = await put(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
          }),
        ),
      )
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': `scale/r${r}:t${t}` } })
    }
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
}
