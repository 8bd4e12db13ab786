// zreg benchmark suite, compiled to dist/bench/run.js. See bench/README.md.
//
//   node dist/bench/run.js                 full run (several minutes)
//   node dist/bench/run.js --quick         tiny durations and sizes, to check the suite works
//   node dist/bench/run.js --only a,d      run some of the phases a to i (bench/README.md lists them)
//
// Every server this starts is stopped at the end, also on error or Ctrl-C.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { ensureImages } from './data/bench-images.js'
import { dataDir } from './paths.js'
import type { PhaseContext } from './phase-context.js'
import { measureServing } from './phases/a-serve.js'
import { measurePulls } from './phases/b-pull.js'
import { measureMemory } from './phases/c-memory.js'
import { measureBuildScale } from './phases/d-build-scale.js'
import { measureLargeBuildScale } from './phases/d-build-scale-large.js'
import { measurePush } from './phases/e-push.js'
import { measureIngest } from './phases/f-ingest.js'
import { measureMirror } from './phases/g-mirror.js'
import { measurePublish } from './phases/h-publish.js'
import { measureRedirects } from './phases/i-redirects.js'
import type { BenchResults } from './report/results.js'
import { summaryTable } from './report/table.js'
import { checkDistributionStorage, loadDistribution, startDistribution } from './servers/distribution.js'
import { startNginx } from './servers/nginx.js'
import { verifyServer } from './servers/verify-server.js'
import { ensureZregSite, zregSite } from './servers/zreg-site.js'
import { startZregServe } from './servers/zreg.js'
import { benchSettings, parseOptions, usage, type PhaseName } from './settings.js'
import { stopChildren, stopChildrenOnExit } from './support/children.js'
import { startFlusher } from './support/disk-flush.js'
import { cpuTimes, stealPercent, toolVersions } from './support/host-info.js'
import { log } from './support/log.js'
import { treeRssNow } from './support/rss.js'
import type { Server } from './support/server.js'
import { writeWrkScript } from './support/wrk.js'

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  if (options.help) {
    process.stdout.write(usage)
    return
  }
  stopChildrenOnExit()
  const quick = options.quick
  const has = (...phases: PhaseName[]) => phases.some((p) => options.only.has(p))
  const settings = benchSettings(quick)
  mkdirSync(dataDir, { recursive: true })
  // Before anything is measured in this process (see disk-flush.ts).
  startFlusher()
  const cpuTimesStart = cpuTimes()
  const results: BenchResults = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    only: [...options.only].sort(),
    settings,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: +(totalmem() / 1e9).toFixed(1), loadavgStart: loadavg().map((x) => +x.toFixed(2)) },
    tools: toolVersions(),
    notes: [
      'wrk runs with one thread (-t1) on the same machine as the server under test.',
      'nginx runs with worker_processes auto (one worker per core); zreg serve is one Node process; distribution uses all cores (Go).',
      'distribution config: filesystem storage, in-memory blob descriptor cache (as the packaged default), access log off.',
      '(e) push: zreg push and distribution each get a fresh server on an empty store for every push and upload; both stores on the same disk.',
      '(g) mirror: zreg and skopeo each write into an empty store (the no-change zreg sync into the one its first run wrote), from one distribution on loopback whose files are in the page cache.',
    ],
  }
  const ctx: PhaseContext = { quick, settings, rows: [], issues: [] }
  log(`mode ${results.mode}, phases ${results.only.join(',')}, ${results.host.cpus} cpus, load ${results.host.loadavgStart.join(' ')}`)
  const servers: Server[] = []
  try {
    // (g) and (h) use the images in full runs only; their quick runs make their own small data.
    const needsImages = has('a', 'b', 'c', 'e', 'f', 'i') || (has('g', 'h') && !quick)
    const images = needsImages ? await ensureImages() : undefined
    if (images && has('a', 'b', 'c', 'i')) {
      await ensureZregSite(images)
      writeWrkScript()
      if (has('a', 'b')) {
        servers.push(await startZregServe(zregSite))
        servers.push(await startNginx(zregSite))
        const loaded = checkDistributionStorage(images)
        const dist = await startDistribution()
        servers.push(dist)
        if (loaded) log('distribution: reusing loaded storage')
        else await loadDistribution(dist, images)
        const zreg = servers[0]!
        log(`servers: zreg serve :${zreg.port} (pid ${zreg.pid}), nginx :${servers[1]!.port}, distribution :${dist.port}`)
        for (const server of servers) await verifyServer(server, images, ctx.issues)
        if (has('a')) results.serverBound = await measureServing(ctx, servers, images)
        if (has('b')) results.pulls = await measurePulls(ctx, servers, images)
        if (!zreg.hasExited) results.zregServeRssAfterABMB = treeRssNow(zreg.pid).largestMB
        for (const server of servers.splice(0)) await server.stop()
      }
      if (has('c')) results.memory = await measureMemory(ctx, images)
      if (has('i')) results.redirects = await measureRedirects(ctx, images)
    }
    if (has('d')) {
      results.buildScale = await measureBuildScale(ctx)
      results.buildScaleLarge = await measureLargeBuildScale(ctx)
    }
    if (images && has('e')) results.push = await measurePush(ctx, images)
    if (images && has('f')) results.ingest = await measureIngest(ctx, images)
    if (has('g')) results.mirror = await measureMirror(ctx, images)
    if (has('h')) results.publish = await measurePublish(ctx, images)
  } finally {
    for (const server of servers) await server.stop().catch(() => {})
  }
  results.host.loadavgEnd = loadavg().map((x) => +x.toFixed(2))
  results.host.stealPercent = stealPercent(cpuTimesStart, cpuTimes())
  results.rows = ctx.rows
  results.issues = ctx.issues
  writeFileSync(join(dataDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)

  const steal = results.host.stealPercent === undefined ? '' : `; CPU stolen by the hypervisor ${results.host.stealPercent.toFixed(0)}%`
  process.stdout.write(`\nzreg benchmark (${results.mode}; ${results.host.cpus} cpus; load ${results.host.loadavgStart.join(' ')} -> ${results.host.loadavgEnd.join(' ')}${steal})\n`)
  process.stdout.write(summaryTable(ctx.rows))
  if (ctx.issues.length) process.stdout.write(`issues:\n${ctx.issues.map((i) => `  - ${i}`).join('\n')}\n`)
  process.stdout.write(`results: ${join(dataDir, 'results.json')}\n`)
}

main().catch((error: unknown) => {
  log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  stopChildren('SIGTERM')
  process.exitCode = 1
})
