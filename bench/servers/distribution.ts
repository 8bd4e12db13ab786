import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { imagesDir, type BenchImages, type ImageKey } from '../data/bench-images.js'
import { dataDir } from '../paths.js'
import { run } from '../support/children.js'
import { freePort } from '../support/free-port.js'
import { log } from '../support/log.js'
import { Server } from '../support/server.js'

/** The reference registry's storage for (a) and (b), kept loaded between runs. */
const distributionRoot = join(dataDir, 'distribution')
const loadedMarker = join(dataDir, 'distribution-loaded.json')
const loadedKeys: readonly ImageKey[] = ['small', 'blob26', 'img50', 'img300']

/**
 * The reference registry (distribution 2.8, `docker-registry serve`) on a free port with its storage in
 * `root`: the packaged default configuration (/etc/docker/registry/config.yml) minus auth, so with the
 * in-memory blob descriptor cache; access log off.
 */
export async function startDistribution(root = distributionRoot, configFile = join(dataDir, 'distribution.yml')): Promise<Server> {
  const port = await freePort()
  mkdirSync(root, { recursive: true })
  writeFileSync(
    configFile,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${root}
http:
  addr: 127.0.0.1:${port}
`,
  )
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('distribution', child).readyOn(port)
}

const markerText = (images: BenchImages) => JSON.stringify({ method: 'skopeo --preserve-digests', digests: loadedKeys.map((k) => images[k].manifest.digest) })

/** Whether distribution's storage holds exactly the current images; wipes it otherwise (call before starting it). */
export function checkDistributionStorage(images: BenchImages): boolean {
  if (existsSync(loadedMarker) && readFileSync(loadedMarker, 'utf8') === markerText(images)) return true
  rmSync(loadedMarker, { force: true })
  rmSync(distributionRoot, { recursive: true, force: true })
  return false
}

/** Pushes the images (a) and (b) fetch into `server` with skopeo, keeping their digests. */
export async function loadDistribution(server: Server, images: BenchImages): Promise<void> {
  log('distribution: loading images with skopeo copy --preserve-digests')
  for (const key of loadedKeys) {
    const image = images[key]
    // --preserve-digests: without it skopeo gzips the uncompressed layers on the way to a registry.
    const r = await run(
      'skopeo',
      ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${imagesDir}:${image.ref}`, `docker://127.0.0.1:${server.port}/${image.ref}`],
      { timeoutMs: 600000 },
    )
    log(`distribution: pushed ${image.ref} in ${(r.ms / 1000).toFixed(1)} s`)
  }
  writeFileSync(loadedMarker, markerText(images))
}
