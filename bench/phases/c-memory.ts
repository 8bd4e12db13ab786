import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchImages } from '../data/bench-images.js'
import type { PhaseContext } from '../phase-context.js'
import { row } from '../report/rows.js'
import { zregSite } from '../servers/zreg-site.js'
import { startZregServe } from '../servers/zreg.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import { rssSampler, treeRssNow } from '../support/rss.js'

/** One scenario: MB are 10^6 bytes. */
export interface MemoryScenario {
  clients: number
  seconds: number
  /** Bytes all clients received / seconds / 10^6. */
  MBps: number
  /** Clients that received the whole blob. */
  complete: number
  /** Idle RSS of the largest process, and of all of them (the primary and its workers). */
  idleMB: number
  /** The private part (RssAnon) of the largest process's idle RSS. */
  idleAnonMB: number
  idleTotalMB: number
  /** Idle PSS of all the processes together: shared pages counted once. */
  idleTotalPssMB: number
  /** Idle RSS of the largest worker (NaN with one process). */
  idleWorkerMB: number
  processes: number
  /** Peak RSS of the largest process, and of all of them together. */
  maxRssMB: number
  maxTotalMB: number
  /** Peak RSS of the largest worker (NaN with one process). */
  maxWorkerMB: number
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
 * (c) memory: a fresh zreg serve, 8 concurrent curl downloads of the 300 MiB blob with the VmRSS of
 * each of its processes sampled; then again (fresh server) with rate-limited clients, where a server that
 * ignores back-pressure would buffer. The targets are per process: each worker serves on its own.
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
      const idle = treeRssNow(server.pid)
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
      const out: MemoryScenario = {
        clients: clients.length,
        seconds,
        MBps: bytes / seconds / 1e6,
        complete,
        idleMB: idle.largestMB,
        idleAnonMB: idle.largestAnonMB,
        idleTotalMB: idle.totalMB,
        idleTotalPssMB: idle.totalPssMB,
        idleWorkerMB: idle.largestChildMB,
        processes: idle.processes,
        maxRssMB: rss.maxMB,
        maxTotalMB: rss.maxTotalMB,
        maxWorkerMB: rss.maxChildMB,
        vmHwmMB: rss.hwmMB,
        samples: rss.samples,
        ok: bad.length === 0,
      }
      log(
        `(c) ${name}: ${complete}/${clients.length} complete, ${out.MBps.toFixed(0)} MB/s total over ${seconds.toFixed(1)} s; ${idle.processes} processes, RSS of the largest idle ${idle.largestMB.toFixed(1)} MB, max ${rss.maxMB.toFixed(1)} MB; of the largest worker idle ${idle.largestChildMB.toFixed(1)} MB, max ${rss.maxChildMB.toFixed(1)} MB; all together idle ${idle.totalMB.toFixed(1)} MB, max ${rss.maxTotalMB.toFixed(1)} MB (${rss.samples} samples); VmHWM ${rss.hwmMB.toFixed(1)} MB`,
      )
      return out
    } finally {
      await server.stop()
    }
  }
  const fast = await scenario('fast clients', [], false)
  // Slow clients: a server that ignores back-pressure would buffer the blob in memory for them.
  const slow = await scenario(`slow clients (${settings.memorySlowRate}B/s each, ${settings.memorySlowSeconds} s)`, ['--limit-rate', settings.memorySlowRate, '--max-time', String(settings.memorySlowSeconds)], true)
  const maxMB = Math.max(fast.maxRssMB, slow.maxRssMB)
  const idleMB = Math.max(fast.idleMB, slow.idleMB)
  const valid = fast.ok && slow.ok && fast.complete === fast.clients
  rows.push(
    row(`(c) zreg serve idle RSS, largest process (MB)`, {
      zreg: idleMB,
      target: '<= 50 MB',
      pass: () => idleMB <= 50,
      valid: fast.processes > 0,
      unit: 'MB',
      digits: 1,
      note: `${fast.processes} processes: the one started (it supervises; the CLI hands over to it) and a worker per core; the largest worker ${fast.idleWorkerMB.toFixed(1)} MB; of the largest process, ${fast.idleAnonMB.toFixed(1)} MB private (RssAnon: the rest is the node binary's pages, shared); ${fast.idleTotalMB.toFixed(1)} MB together, ${fast.idleTotalPssMB.toFixed(1)} MB PSS (shared pages counted once)`,
    }),
    row(`(c) zreg serve max RSS, 8 clients x 300 MiB blob, largest process (MB)`, {
      zreg: maxMB,
      target: '<= 100 MB',
      pass: () => maxMB <= 100,
      valid,
      unit: 'MB',
      digits: 1,
      note: `fast clients ${fast.maxRssMB.toFixed(1)} MB (the largest worker ${fast.maxWorkerMB.toFixed(1)}), rate-limited clients ${slow.maxRssMB.toFixed(1)} MB (worker ${slow.maxWorkerMB.toFixed(1)}); all processes together ${fast.maxTotalMB.toFixed(1)} and ${slow.maxTotalMB.toFixed(1)} MB`,
    }),
  )
  return { blobBytes: blob.size, fast, slow: { ...slow, rate: settings.memorySlowRate } }
}
