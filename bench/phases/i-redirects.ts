import { join } from 'node:path'
import { MediaTypes } from '../../src/oci/media-types.js'
import { digestHex } from '../../src/oci/digest.js'
import type { BenchImages } from '../data/bench-images.js'
import { dataDir, zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { startNginx } from '../servers/nginx.js'
import { zregSite, zregStore } from '../servers/zreg-site.js'
import { startZregServe } from '../servers/zreg.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'
import { wrk, type WrkResult } from '../support/wrk.js'

/** One server on one tree: manifest GETs, and on the redirected tree the redirected blob's GETs at c1 and c64. */
export interface RedirectVariant {
  manifest: WrkResult
  blobOne?: WrkResult
  blobMany?: WrkResult
}

/** results.json `redirects`: by server name (`zreg serve`, `nginx`), then `plain` and `redirected`. */
export type RedirectResults = Record<string, { plain?: RedirectVariant; redirected?: RedirectVariant }>

/**
 * (i) The bench's tree built again with every blob redirected to a CDN (zreg build --redirect): manifest
 * GETs through zreg serve and nginx with the redirect rules against the same without (the rules add a
 * map entry per blob: manifests must not get slower), and the redirected blob GET's latency at one
 * connection (the server's own time, not queueing) and its rate at 64.
 */
export async function measureRedirects(ctx: PhaseContext, images: BenchImages): Promise<RedirectResults> {
  const { settings, rows, issues } = ctx
  const redirected = join(dataDir, 'zreg-site-redirected')
  const cdn = 'https://cdn.example.com/blobs/{algorithm}/{hex}'
  const built = await run(zregBin, ['build', '--store', zregStore, '--out', redirected, '--redirect', `**=${cdn}`], { timeoutMs: 600000 })
  log(`(i) ${built.stdout.trim()}`)
  const small = images.small
  const blob = images.blob26.layers[0]!
  const out: RedirectResults = {}
  const starters: [string, (site: string) => Promise<Server>][] = [
    ['zreg serve', (site) => startZregServe(site)],
    ['nginx', startNginx],
  ]
  for (const [name, start] of starters) {
    const variants: RedirectResults[string] = (out[name] = {})
    for (const [variant, tree] of [
      ['plain', zregSite],
      ['redirected', redirected],
    ] as const) {
      const server = await start(tree)
      try {
        const manifestUrl = `${server.url}/v2/${small.repository}/manifests/${small.tag}`
        const headers = [`Accept: ${MediaTypes.OciManifest}`]
        await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkWarmupSeconds, headers })
        const manifest = await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds, headers })
        const measured: RedirectVariant = (variants[variant] = { manifest })
        log(`(i) ${name}, ${variant}: manifest ${manifest.rps.toFixed(0)} req/s, p99 ${manifest.p99ms.toFixed(2)} ms, errors ${manifest.errors}`)
        if (variant !== 'redirected') continue
        const blobUrl = `${server.url}/v2/${images.blob26.repository}/blobs/${blob.digest}`
        const answer = await fetch(blobUrl, { redirect: 'manual' })
        const expected = cdn.replace('{algorithm}', 'sha256').replace('{hex}', digestHex(blob.digest))
        if (answer.status !== 307 || answer.headers.get('location') !== expected) issues.push(`(i) ${name}: a redirected blob answered ${answer.status} ${answer.headers.get('location')}`)
        await wrk(blobUrl, { connections: 1, seconds: settings.wrkWarmupSeconds })
        const one = await wrk(blobUrl, { connections: 1, seconds: settings.wrkSeconds })
        const many = await wrk(blobUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds })
        Object.assign(measured, { blobOne: one, blobMany: many })
        log(`(i) ${name}: redirected blob p50 ${one.p50ms.toFixed(3)} ms, p99 ${one.p99ms.toFixed(3)} ms (c1); ${many.rps.toFixed(0)} req/s (c${settings.manifestConnections})`)
      } finally {
        await server.stop()
      }
    }
  }
  const ok = (...runs: (WrkResult | undefined)[]) => runs.every((r) => r !== undefined && r.errors === 0)
  for (const name of ['zreg serve', 'nginx']) {
    const plain = out[name]!.plain!
    const withRules = out[name]!.redirected!
    const column = name === 'nginx' ? 'nginx' : 'zreg'
    rows.push(
      row(`(i) ${name}: manifest GET req/s (c64), redirect rules vs none`, {
        [column]: withRules.manifest.rps,
        ratio: ratioOf(withRules.manifest.rps, plain.manifest.rps),
        ratioNote: 'rules/none',
        target: '>= 0.9x (not slower)',
        pass: (r) => r >= 0.9,
        valid: ok(plain.manifest, withRules.manifest),
        unit: 'req/s',
      }),
      row(`(i) ${name}: redirected blob GET p99 ms (c1)`, { [column]: withRules.blobOne?.p99ms, subject: withRules.blobOne?.p99ms, target: '< 1 ms', pass: (v) => v < 1, valid: ok(withRules.blobOne), unit: 'ms', digits: 3 }),
      row(`(i) ${name}: redirected blob GET req/s (c64)`, { [column]: withRules.blobMany?.rps, target: 'info', valid: ok(withRules.blobMany), unit: 'req/s' }),
    )
  }
  return out
}
