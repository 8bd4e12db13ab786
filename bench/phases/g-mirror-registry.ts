import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { digestOf } from '../../src/oci/digest.js'
import type { ImageManifest } from '../../src/oci/manifest.js'
import { manifestAccept } from '../../src/remote/registry-client.js'
import { startDistribution } from '../servers/distribution.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'
import type { BenchSettings } from '../settings.js'
import { mirrorBig, mirrorDir, mirrorMany, mirrorTag, type MirrorData } from './g-mirror-data.js'

/** The mirror registry's storage, and the record of what it holds. */
export const mirrorRegistry = join(mirrorDir, 'registry')
const mirrorRegistryInfo = join(mirrorDir, 'registry.json')

/** What the mirror registry holds: the big image's manifest digest, bench/many's tags -> digest, and how its layers are shared. */
export interface MirrorHeld {
  big: string
  many: Record<string, string>
  layers: { references: number; distinct: number }
}

interface FetchedManifest {
  bytes: Buffer
  digest: string
  mediaType: string | null
}

/** GET a manifest: its bytes, Content-Type and digest (checked against Docker-Content-Digest). */
async function getManifest(base: string, repository: string, reference: string): Promise<FetchedManifest> {
  const response = await fetch(`${base}/v2/${repository}/manifests/${reference}`, { headers: { Accept: manifestAccept } })
  const bytes = Buffer.from(await response.arrayBuffer())
  if (response.status !== 200) throw new Error(`GET ${repository}:${reference} manifest: ${response.status} ${bytes.toString().slice(0, 300)}`)
  const digest = digestOf(bytes)
  if (response.headers.get('docker-content-digest') !== digest) throw new Error(`GET ${repository}:${reference}: Docker-Content-Digest ${response.headers.get('docker-content-digest')}, body ${digest}`)
  return { bytes, digest, mediaType: response.headers.get('content-type') }
}

/**
 * Loads the mirror registry: the big image and the distinct images of bench/many pushed with skopeo (which
 * gzips their layers, as images in real registries are), then the remaining tags PUT as copies of those
 * manifests.
 */
async function populateMirrorRegistry(server: Server, data: MirrorData, settings: BenchSettings): Promise<MirrorHeld> {
  const base = server.url
  const push = async (layout: string, ref: string, target: string) => {
    const r = await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${ref}`, `docker://127.0.0.1:${server.port}/${target}`], { timeoutMs: 900000 })
    log(`(g) registry: pushed ${target} in ${(r.ms / 1000).toFixed(1)} s`)
  }
  await push(data.big.layout, data.big.ref, `${mirrorBig.repository}:${mirrorBig.tag}`)
  const distinct = settings.mirrorDistinctImages
  const pushed: FetchedManifest[] = []
  for (const [i, ref] of data.many.entries()) {
    const tag = mirrorTag(i, distinct)
    await push(data.layout, ref, `${mirrorMany}:${tag}`)
    pushed.push(await getManifest(base, mirrorMany, tag))
  }
  const started = performance.now()
  const many = Object.fromEntries(pushed.map((m, i) => [mirrorTag(i, distinct), m.digest]))
  for (let i = distinct; i < settings.mirrorTags; i++) {
    const tag = mirrorTag(i, distinct)
    const source = pushed[i % distinct]!
    const response = await fetch(`${base}/v2/${mirrorMany}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': source.mediaType ?? '' }, body: source.bytes })
    const text = await response.text()
    if (response.status !== 201 || response.headers.get('docker-content-digest') !== source.digest)
      throw new Error(`PUT ${mirrorMany}:${tag}: ${response.status}, Docker-Content-Digest ${response.headers.get('docker-content-digest')} (expected ${source.digest}): ${text.slice(0, 300)}`)
    many[tag] = source.digest
  }
  log(`(g) registry: tagged ${settings.mirrorTags - distinct} more tags of ${mirrorMany} by manifest PUT in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const references = pushed.flatMap((m) => (JSON.parse(m.bytes.toString()) as ImageManifest).layers.map((l) => l.digest))
  const layers = { references: references.length, distinct: new Set(references).size }
  const big = (await getManifest(base, mirrorBig.repository, mirrorBig.tag)).digest
  return { big, many, layers }
}

/** Every tag of `repository` the registry lists (one page: distribution answers all without ?n=). */
async function listTags(base: string, repository: string): Promise<string[]> {
  const response = await fetch(`${base}/v2/${repository}/tags/list`)
  if (response.status !== 200) return []
  return ((await response.json()) as { tags?: string[] }).tags ?? []
}

/**
 * Starts distribution on the mirror registry's storage and makes sure it holds the current data: reused
 * when its record matches these settings and the registry still answers it, loaded from scratch otherwise.
 */
export async function ensureMirrorRegistry(data: MirrorData, settings: BenchSettings): Promise<{ server: Server; held: MirrorHeld }> {
  const wanted = JSON.stringify({ tags: settings.mirrorTags, images: data.key, big: data.big })
  let held: MirrorHeld | undefined
  try {
    const record = JSON.parse(readFileSync(mirrorRegistryInfo, 'utf8')) as { wanted: string; held: MirrorHeld }
    if (record.wanted === wanted) held = record.held
  } catch {
    // not loaded yet
  }
  if (!held) {
    rmSync(mirrorRegistryInfo, { force: true })
    rmSync(mirrorRegistry, { recursive: true, force: true })
  }
  const server = await startDistribution(mirrorRegistry, join(mirrorDir, 'distribution.yml'))
  try {
    const base = server.url
    if (held) {
      const tags = await listTags(base, mirrorMany)
      const big = await getManifest(base, mirrorBig.repository, mirrorBig.tag).catch(() => undefined)
      if (tags.length === settings.mirrorTags && big?.digest === held.big) {
        log(`(g) registry: reusing ${mirrorRegistry}`)
        return { server, held }
      }
      throw new Error(`the mirror registry in ${mirrorRegistry} does not hold what ${mirrorRegistryInfo} says (${tags.length} tags of ${mirrorMany}); delete both and run again`)
    }
    log(`(g) registry: loading ${settings.mirrorTags} tags of ${mirrorMany} (${settings.mirrorDistinctImages} distinct images) and ${mirrorBig.repository}:${mirrorBig.tag}`)
    held = await populateMirrorRegistry(server, data, settings)
    const tags = await listTags(base, mirrorMany)
    if (tags.length !== settings.mirrorTags) throw new Error(`the mirror registry lists ${tags.length} tags of ${mirrorMany} after loading, expected ${settings.mirrorTags}`)
    writeFileSync(mirrorRegistryInfo, JSON.stringify({ wanted, held }, null, 2))
    return { server, held }
  } catch (error) {
    await server.stop()
    throw error
  }
}
