import { digestOf } from '../../src/oci/digest.js'
import { MediaTypes } from '../../src/oci/media-types.js'
import type { BenchImages } from '../data/bench-images.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'

/**
 * Checks a server answers the manifest and blob the benchmarks fetch, with the right bytes and headers;
 * each problem goes to `issues`. True when there was none.
 */
export async function verifyServer(server: Server, images: BenchImages, issues: string[]): Promise<boolean> {
  const small = images.small
  const response = await fetch(`${server.url}/v2/${small.repository}/manifests/${small.tag}`, { headers: { Accept: MediaTypes.OciManifest } })
  const body = Buffer.from(await response.arrayBuffer())
  const problems: string[] = []
  if (response.status !== 200) problems.push(`manifest GET status ${response.status}`)
  else {
    const digest = digestOf(body)
    if (digest !== small.manifest.digest) problems.push(`manifest bytes differ (${digest}, expected ${small.manifest.digest})`)
    if (response.headers.get('docker-content-digest') !== digest) problems.push(`Docker-Content-Digest ${response.headers.get('docker-content-digest')}`)
    if (response.headers.get('content-type') !== MediaTypes.OciManifest) problems.push(`manifest Content-Type ${response.headers.get('content-type')}`)
  }
  const blob = images.blob26.layers[0]!
  const head = await fetch(`${server.url}/v2/${images.blob26.repository}/blobs/${blob.digest}`, { method: 'HEAD' })
  if (head.status !== 200) problems.push(`blob HEAD status ${head.status}`)
  else if (Number(head.headers.get('content-length')) !== blob.size) problems.push(`blob Content-Length ${head.headers.get('content-length')}`)
  for (const p of problems) issues.push(`${server.name}: ${p}`)
  if (problems.length) log(`verify ${server.name}: ${problems.join('; ')}`)
  else log(`verify ${server.name}: ok (port ${server.port})`)
  return problems.length === 0
}
