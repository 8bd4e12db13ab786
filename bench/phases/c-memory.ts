import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchImages } from '../data/bench-images.js'
import type { PhaseContext } from '../phase-context.js'
import { row } from '../report/rows.js'
import { zregSite } from '../servers/zreg-site.js'
import { startZregServe } from '../servers/zreg.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import { rssNowMB, rssSampler } from '../support/rss.js'

/** One scenario: MB are 10^6 bytes. */
export interface MemoryScenario {
  clients: number
  seconds: number
  /** Bytes all clients received / seconds / 10^6. */
  MBps: number
  /** Clients that received the whole blob. */
  complete: number
  idleMB: number
  maxRssMB: number
  vmHwmMB: number
  samples: number
  ok: boolean
}

/** results.json `memory`. */
export interface MemoryResults {
  blobBytes: number
  fast: MemoryScenario
  slow: MemoryScenario & { rate: string }
}

/**
 * (c) memory: a fresh zreg serve, 8 concurrent curl downloads of the 300 MiB blob with VmRSS sampled;
 * then again (fresh server) with rate-limited clients, where a server that ignores back-pressure would buffer.
 */
export async function measureMemory(ctx: PhaseContext, images: BenchImages): Promise<MemoryResults> {
  const { settings, rows, issues } = ctx
  const blob = images.blob300.layers[0]!
  // Each scenario gets a fresh `zreg serve`, so one scenario's garbage does not count against the next.
  const scenario = async (name: string, extraCurlArgs: string[], acceptTimeout: boolean): Promise<MemoryScenario> => {
    const server = await startZregServe(zregSite)
    try {
      const url = `${server.url}/v2/${images.blob300.repository}/blobs/${blob.digest}`
      await sleep(300)
      const idleMB = rssNowMB(server.pid)
      const sampler = rssSampler(server.pid)
      const started = performance.now()
      const clients = await Promise.all(
        Array.from({ length: settings.memoryClients }, () => run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...extraCurlArgs, url], { allowFail: true, timeoutMs: 600000 })),
      )
      const seconds = (performance.now() - started) / 1000
      const rss = sampler.stop()
      const bytes = clients.reduce((sum, r) => sum + (Number(r.stdout.split(' ')[1]) || 0), 0)
      const complete = clients.filter((r) => r.code === 0 && r.stdout === `200 ${blob.size}`).length
      // curl's 28 is its --max-time running out: how the rate-limited clients end.
      const bad = clients.filter((r) => !(r.code === 0 || (acceptTimeout && r.code === 28)) || !r.stdout.startsWith('200 '))
      if (bad.length) issues.push(`zreg serve (${name}): ${bad.length} of ${clients.length} downloads failed: ${bad.map((r) => `curl ${r.code} ${r.stdout}`).join(', ')}`)
      const out: MemoryScenario = { clients: clients.length, seconds, MBps: bytes / seconds / 1e6, complete, idleMB, maxRssMB: rss.maxMB, vmHwmMB: rss.hwmMB, samples: rss.samples, ok: bad.length === 0 }
      log(`(c) ${name}: ${complete}/${clients.length} complete, ${out.MBps.toFixed(0)} MB/s total over ${seconds.toFixed(1)} s; RSS idle ${idleMB.toFixed(1)} MB, max ${rss.maxMB.toFixed(1)} MB (${rss.samples} samples), VmHWM ${rss.hwmMB.toFixed(1)} MB`)
      return out
    } finally {
      await server.stop()
    }
  }
  const fast = await scenario('fast clients', [], false)
  // Slow clients: a server that ignores back-pressure would buffer the blob in memory for them.
  const slow = await scenario(`slow clients (${settings.memorySlowRate}B/s each, ${settings.memorySlowSeconds} s)`, ['--limit-rate', settings.memorySlowRate, '--max-time', String(settings.memorySlowSeconds)], true)
  const maxMB = Math.max(fast.maxRssMB, slow.maxRssMB)
  rows.push(
    row(`(c) zreg serve max RSS, 8 clients x 300 MiB blob (MB)`, {
      zreg: maxMB,
      target: '< 150 MB',
      pass: () => maxMB < 150,
      valid: fast.ok && slow.ok && fast.complete === fast.clients,
      unit: 'MB',
      digits: 1,
      note: `fast clients ${fast.maxRssMB.toFixed(1)} MB (idle ${fast.idleMB.toFixed(1)}), rate-limited clients ${slow.maxRssMB.toFixed(1)} MB (idle ${slow.idleMB.toFixed(1)})`,
    }),
  )
  return { blobBytes: blob.size, fast, slow: { ...slow, rate: settings.memorySlowRate } }
}
