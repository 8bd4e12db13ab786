import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { digestOf } from '../../src/oci/digest.js'
import type { BenchImage, BenchImages } from '../data/bench-images.js'
import { dataDir } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'
import { median } from '../support/stats.js'

const pulledKeys = ['img50', 'img300'] as const

/** results.json `pulls`: per image, per server name, every pull's seconds and their median. */
export type PullResults = Record<(typeof pulledKeys)[number], Record<string, { times: number[]; median: number }>>

/** `skopeo copy docker://... dir:DEST`: wall seconds, and whether the pulled manifest is the image's. */
async function skopeoPull(server: Server, image: BenchImage, dest: string): Promise<{ seconds: number; ok: boolean; digest: string }> {
  rmSync(dest, { recursive: true, force: true })
  const r = await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://127.0.0.1:${server.port}/${image.ref}`, `dir:${dest}`], { timeoutMs: 600000 })
  const digest = digestOf(readFileSync(join(dest, 'manifest.json')))
  const ok = digest === image.manifest.digest
  rmSync(dest, { recursive: true, force: true })
  return { seconds: r.ms / 1000, ok, digest }
}

/** (b) client-bound: skopeo pulls of the 50 MiB and 300 MiB images from each of `servers` (zreg serve, nginx, distribution), rounds rotating the order. */
export async function measurePulls(ctx: PhaseContext, servers: Server[], images: BenchImages): Promise<PullResults> {
  const { settings, rows, issues } = ctx
  const dest = join(dataDir, 'pull')
  const times: Record<string, Record<string, number[]>> = {}
  for (const key of pulledKeys) {
    const image = images[key]
    const byServer: Record<string, number[]> = (times[key] = {})
    for (const server of servers) byServer[server.name] = []
    for (let round = 0; round < settings.pullRounds[key]; round++) {
      // Rotate the order each round so no server always goes first (cold caches) or last.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!)
      for (const server of order) {
        const p = await skopeoPull(server, image, dest)
        if (!p.ok) issues.push(`${server.name}: pulled ${image.ref} has manifest ${p.digest}, expected ${image.manifest.digest}`)
        byServer[server.name]!.push(p.seconds)
        log(`(b) ${server.name}: pull ${image.ref} ${p.seconds.toFixed(2)} s${p.ok ? '' : ' (WRONG MANIFEST)'}`)
      }
    }
  }
  const pulls = {} as PullResults
  for (const key of pulledKeys) {
    pulls[key] = Object.fromEntries(Object.entries(times[key]!).map(([name, list]) => [name, { times: list, median: median(list) }]))
    const med = (name: string) => pulls[key][name]?.median
    const label = key === 'img50' ? '50 MiB (5 x 10 MiB)' : '300 MiB (6 x 50 MiB)'
    rows.push(
      row(`(b) skopeo pull ${label}, s (median of ${settings.pullRounds[key]})`, {
        zreg: med('zreg serve'),
        nginx: med('nginx'),
        distribution: med('distribution'),
        ratio: ratioOf(med('distribution'), med('zreg serve')),
        ratioNote: 'dist/zreg',
        target: '>= 1.0 (dist time / zreg time)',
        pass: (r) => r >= 1.0,
        valid: true,
        unit: 's',
        digits: 2,
      }),
    )
  }
  return pulls
}
