import { cpus } from 'node:os'
import { MediaTypes } from '../../src/oci/media-types.js'
import type { BenchImages } from '../data/bench-images.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { startApache } from '../servers/apache.js'
import { startCaddy } from '../servers/caddy.js'
import { verifyServer } from '../servers/verify-server.js'
import { zregSite } from '../servers/zreg-site.js'
import { startZregServe } from '../servers/zreg.js'
import { log } from '../support/log.js'
import { rssSampler } from '../support/rss.js'
import type { Server } from '../support/server.js'
import { wrk, type WrkResult } from '../support/wrk.js'

/** results.json `serverBound`: wrk's figures by server name (`zreg serve`, `nginx`, `distribution`, ...). */
export interface ServeResults {
  manifest: Record<string, WrkResult>
  blob: Record<string, WrkResult>
}

/**
 * (a) server-bound: wrk on the small manifest (c64) and the 26 MiB blob (c8) against zreg serve, nginx
 * and distribution (`servers`, started by the caller and shared with (b); the targets), then zreg serve
 * with one worker, Caddy and Apache with the configurations zreg server-config writes (info rows: users
 * choose their server with these), each started only for its turn.
 */
export async function measureServing(ctx: PhaseContext, servers: Server[], images: BenchImages): Promise<ServeResults> {
  const { settings, rows, issues } = ctx
  const small = images.small
  const blob = images.blob26.layers[0]!
  const a: ServeResults = { manifest: {}, blob: {} }
  // zreg serve runs a worker per core by default; one worker shows what the workers add.
  const oneWorker = () => startZregServe(zregSite, { name: 'zreg serve, 1 worker', extra: ['--workers', '1'] })
  const hosts = [...servers.map((server) => async () => server), oneWorker, () => startCaddy(zregSite), () => startApache(zregSite)]
  for (const start of hosts) {
    const server = await start()
    if (!servers.includes(server)) await verifyServer(server, images, issues)
    const manifestUrl = `${server.url}/v2/${small.repository}/manifests/${small.tag}`
    const headers = [`Accept: ${MediaTypes.OciManifest}`]
    await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkWarmupSeconds, headers })
    const sampler = server.name === 'zreg serve' ? rssSampler(server.pid) : undefined
    const m = await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds, headers })
    if (sampler) m.rssMaxMB = sampler.stop().maxMB
    a.manifest[server.name] = m
    log(`(a) ${server.name}: manifest ${m.rps.toFixed(0)} req/s, p50 ${m.p50ms.toFixed(2)} ms, p99 ${m.p99ms.toFixed(2)} ms, errors ${m.errors}`)

    const blobUrl = `${server.url}/v2/${images.blob26.repository}/blobs/${blob.digest}`
    await wrk(blobUrl, { connections: settings.blobConnections, seconds: settings.wrkWarmupSeconds })
    const blobSampler = server.name === 'zreg serve' ? rssSampler(server.pid) : undefined
    const b = await wrk(blobUrl, { connections: settings.blobConnections, seconds: settings.wrkSeconds })
    if (blobSampler) b.rssMaxMB = blobSampler.stop().maxMB
    a.blob[server.name] = b
    log(`(a) ${server.name}: blob ${b.MBps.toFixed(0)} MB/s (${b.requests} x 26 MiB responses, ${b.rps.toFixed(1)} req/s), errors ${b.errors}`)
    if (!servers.includes(server)) await server.stop()
  }
  const val = (kind: keyof ServeResults, name: string) => a[kind][name]
  const valid = (kind: keyof ServeResults, name: string) => val(kind, name) !== undefined && val(kind, name)!.errors === 0
  const zreg = 'zreg serve'
  rows.push(
    row('(a) manifest GET req/s (c64), vs distribution', {
      zreg: val('manifest', zreg)?.rps,
      nginx: val('manifest', 'nginx')?.rps,
      distribution: val('manifest', 'distribution')?.rps,
      ratio: ratioOf(val('manifest', zreg)?.rps, val('manifest', 'distribution')?.rps),
      target: '>= 8x distribution',
      pass: (r) => r >= 8,
      valid: valid('manifest', zreg) && valid('manifest', 'distribution'),
      unit: 'req/s',
    }),
    row('(a) manifest GET req/s (c64), vs nginx', {
      zreg: val('manifest', zreg)?.rps,
      nginx: val('manifest', 'nginx')?.rps,
      distribution: val('manifest', 'distribution')?.rps,
      ratio: ratioOf(val('manifest', zreg)?.rps, val('manifest', 'nginx')?.rps),
      target: '>= 0.8x nginx',
      pass: (r) => r >= 0.8,
      valid: valid('manifest', zreg) && valid('manifest', 'nginx'),
      unit: 'req/s',
    }),
    row('(a) 26 MiB blob GET MB/s (c8), vs nginx', {
      zreg: val('blob', zreg)?.MBps,
      nginx: val('blob', 'nginx')?.MBps,
      distribution: val('blob', 'distribution')?.MBps,
      ratio: ratioOf(val('blob', zreg)?.MBps, val('blob', 'nginx')?.MBps),
      target: '>= 0.95x nginx',
      pass: (r) => r >= 0.95,
      valid: valid('blob', zreg) && valid('blob', 'nginx'),
      unit: 'MB/s',
    }),
  )
  rows.push(
    row('(a) zreg serve with 1 worker: manifest GET req/s (c64)', {
      zreg: val('manifest', 'zreg serve, 1 worker')?.rps,
      nginx: val('manifest', 'nginx')?.rps,
      ratio: ratioOf(val('manifest', 'zreg serve, 1 worker')?.rps, val('manifest', 'nginx')?.rps),
      ratioNote: '1 worker/nginx',
      target: 'info',
      valid: true,
      unit: 'req/s',
      note: `the default runs a worker per core (${cpus().length} here)`,
    }),
  )
  for (const [name, label] of [
    ['caddy', 'Caddy 2'],
    ['apache', 'Apache 2.4'],
  ] as const) {
    const info = { target: 'info', valid: true, note: `the zreg column is ${label} with the configuration of zreg server-config --for ${name}` }
    rows.push(
      row(`(a) ${label}: manifest GET req/s (c64)`, { ...info, zreg: val('manifest', name)?.rps, nginx: val('manifest', 'nginx')?.rps, ratio: ratioOf(val('manifest', name)?.rps, val('manifest', 'nginx')?.rps), ratioNote: `${name}/nginx`, unit: 'req/s' }),
      row(`(a) ${label}: 26 MiB blob GET MB/s (c8)`, { ...info, zreg: val('blob', name)?.MBps, nginx: val('blob', 'nginx')?.MBps, ratio: ratioOf(val('blob', name)?.MBps, val('blob', 'nginx')?.MBps), ratioNote: `${name}/nginx`, unit: 'MB/s' }),
    )
  }
  return a
}
