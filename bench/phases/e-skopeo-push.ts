import { digestOf } from '../../src/oci/digest.js'
import { MediaTypes } from '../../src/oci/media-types.js'
import { imagesDir, type BenchImage } from '../data/bench-images.js'
import { run } from '../support/children.js'
import type { Server } from '../support/server.js'

/** Checks the pushed manifest comes back byte-identical and every blob's HEAD has its full Content-Length; returns the problems. */
async function verifyPushed(server: Server, image: BenchImage): Promise<string[]> {
  const problems: string[] = []
  const response = await fetch(`${server.url}/v2/${image.repository}/manifests/${image.tag}`, { headers: { Accept: MediaTypes.OciManifest } })
  const body = Buffer.from(await response.arrayBuffer())
  if (response.status !== 200) problems.push(`manifest GET status ${response.status}`)
  else if (digestOf(body) !== image.manifest.digest) problems.push(`manifest is ${digestOf(body)}, expected ${image.manifest.digest}`)
  for (const blob of [image.config, ...image.layers]) {
    const head = await fetch(`${server.url}/v2/${image.repository}/blobs/${blob.digest}`, { method: 'HEAD' })
    if (head.status !== 200 || Number(head.headers.get('content-length')) !== blob.size)
      problems.push(`blob ${blob.digest.slice(0, 19)} HEAD ${head.status}, Content-Length ${head.headers.get('content-length')} (expected ${blob.size})`)
  }
  return problems
}

/** `skopeo copy oci:... docker://...` of `image` into `server`: wall seconds, and what is wrong with the result. */
export async function skopeoPush(server: Server, image: BenchImage): Promise<{ seconds: number; problems: string[] }> {
  // --preserve-digests: without it skopeo gzips the uncompressed layers on the way (as when loading distribution for (a)/(b)).
  const r = await run(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${imagesDir}:${image.ref}`, `docker://127.0.0.1:${server.port}/${image.ref}`],
    { timeoutMs: 600000, allowFail: true },
  )
  const problems = r.code === 0 ? await verifyPushed(server, image) : [`skopeo failed (${r.code ?? r.signal}): ${r.stderr.trim().slice(-500)}`]
  return { seconds: r.ms / 1000, problems }
}
