import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildSite, type BuildResult } from '../../src/build/build-site.js'
import { LayoutStore } from '../../src/store/layout-store.js'
import { ensureScaleStore, restoreIndex, retagOne } from '../data/scale-store.js'
import { dataDir, libraryEntry, zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { waitForDist } from '../servers/zreg.js'
import { run } from '../support/children.js'
import { flushDisk } from '../support/disk-flush.js'
import { log } from '../support/log.js'
import { median } from '../support/stats.js'
import { calibrateMetadataOps } from './d-metadata-calibration.js'

/** Every time of a series (ms) and their median. */
export interface TimedSeries {
  times: number[]
  median: number
}

/** results.json `buildScale`. Times are milliseconds. */
export interface BuildScaleResults {
  repositories: number
  tagsPerRepository: number
  tags: number
  fullSmall: TimedSeries
  fullBig: TimedSeries
  rebuild: TimedSeries
  metadataOpsMs: number
  tmpfs?: { fullMs: number; rebuild: TimedSeries }
  fullCold: { ms: number }
  cli: { wallMs: number; reportedMs: number | undefined; output: string }
}

/** One build from an empty output, timed in a child that imports the library (JIT warm-up and heap growth included, as for `zreg build`). */
export interface NewProcessBuild {
  ms: number
  /** The child's peak RSS, MB. */
  maxRssMB: number
  tags: number
  written: number
}

export async function buildInNewProcess(storeDir: string, out: string): Promise<NewProcessBuild> {
  const script = `const { LayoutStore, buildSite } = await import(${JSON.stringify(pathToFileURL(libraryEntry).href)})
const started = performance.now()
const result = await buildSite(await LayoutStore.open(${JSON.stringify(storeDir)}), { out: ${JSON.stringify(out)} })
const ms = performance.now() - started
console.log(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, tags: result.tags, written: result.repositoriesWritten }))`
  return JSON.parse((await run(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 1200000 })).stdout) as NewProcessBuild
}

/**
 * (d) build scale, in-process through the library (LayoutStore.open + buildSite): full builds of a store
 * of repositories x 10 tags with 1 KiB and 20 MiB layers, one-tag rebuilds, the same on tmpfs, the first
 * build in a new process, and the CLI's one-tag rebuild.
 */
export async function measureBuildScale(ctx: PhaseContext): Promise<BuildScaleResults> {
  const { settings, issues } = ctx
  await waitForDist()
  const repositories = settings.scaleRepositories
  const tagsPerRepository = settings.scaleTagsPerRepository
  const tags = repositories * tagsPerRepository
  const small = await ensureScaleStore(repositories, tagsPerRepository, settings.scaleSmallLayerBytes)
  const big = await ensureScaleStore(repositories, tagsPerRepository, settings.scaleBigLayerBytes)

  // Each full build on the disk writes a directory of its own; all are removed at the end. Removing a
  // 10,000-tag tree right before a timed build slowed that build down by up to 2x here, flushed or not.
  const outs: string[] = []
  const freshOut = (name: string) => {
    const out = join(dataDir, `${name}-${outs.length}`)
    outs.push(out)
    return out
  }
  const buildFromScratch = async (storeDir: string, out: string): Promise<{ ms: number; result: BuildResult }> => {
    // A build keeps everything inside `out` (treePaths): removing it removes the whole tree.
    rmSync(out, { recursive: true, force: true })
    // Flush what came before: its write-back is not part of the build being timed.
    await flushDisk()
    const started = performance.now()
    const store = await LayoutStore.open(storeDir)
    const result = await buildSite(store, { out })
    const ms = performance.now() - started
    if (result.tags !== tags) issues.push(`build of ${storeDir}: ${result.tags} tags, expected ${tags}`)
    if (result.repositoriesWritten !== repositories) issues.push(`build of ${storeDir}: wrote ${result.repositoriesWritten} repositories, expected ${repositories}`)
    return { ms, result }
  }

  let smallOut = freshOut('scale-site-small')
  try {
    // Not timed: the first build in a process pays for JIT warm-up (timed apart, in a new process, below).
    await buildFromScratch(small.dir, smallOut)
    // Then alternate the 1 KiB-layer and 20 MiB-layer stores (same shape) so both see the same conditions.
    const smallTimes: number[] = []
    const bigTimes: number[] = []
    for (let i = 0; i < settings.fullBuildRuns; i++) {
      smallOut = freshOut('scale-site-small')
      smallTimes.push((await buildFromScratch(small.dir, smallOut)).ms)
      bigTimes.push((await buildFromScratch(big.dir, freshOut('scale-site-big'))).ms)
    }
    const fullSmall = { times: smallTimes, median: median(smallTimes) }
    const fullBig = { times: bigTimes, median: median(bigTimes) }
    log(`(d) full build, ${tags} tags, warm: 1 KiB layers ${smallTimes.map((t) => t.toFixed(0)).join(', ')} ms; 20 MiB layers ${bigTimes.map((t) => t.toFixed(0)).join(', ')} ms`)

    // One tag changes; a fresh store object and no manifest cache, as a new `zreg build` process would do.
    let r = 0
    const rebuildTimes: number[] = []
    for (let i = 0; i < settings.rebuildRuns; i++) {
      await retagOne(small.dir, r++)
      // As for full builds: the previous build's clean-up write-back is not part of this one.
      await flushDisk()
      const started = performance.now()
      const store = await LayoutStore.open(small.dir)
      const result = await buildSite(store, { out: smallOut })
      rebuildTimes.push(performance.now() - started)
      if (result.repositoriesWritten !== 1) issues.push(`one-tag rebuild wrote ${result.repositoriesWritten} repositories, expected 1`)
    }
    const rebuild = { times: rebuildTimes, median: median(rebuildTimes) }
    log(`(d) one-tag rebuild: ${rebuildTimes.map((t) => t.toFixed(0)).join(', ')} ms`)

    // How slow this disk is right now: builds are bound by metadata operations, whose cost varies here.
    const metadataOpsMs = calibrateMetadataOps(dataDir)
    log(`(d) calibration: 5,000 mkdir/symlink on this disk: ${metadataOpsMs.toFixed(0)} ms`)
    // zreg's own cost, without the disk: the same store and build on tmpfs.
    let tmpfs: BuildScaleResults['tmpfs']
    if (existsSync('/dev/shm')) {
      const shm = join('/dev/shm', `zreg-bench-${process.pid}`)
      const shmStore = join(shm, 'store')
      try {
        rmSync(shm, { recursive: true, force: true })
        mkdirSync(shm, { recursive: true })
        cpSync(small.dir, shmStore, { recursive: true, preserveTimestamps: true })
        // Its own index as generated: the disk's store goes on from where its rebuilds left it.
        restoreIndex(small, shmStore)
        const full = await buildFromScratch(shmStore, join(shm, 'site'))
        const tmpfsRebuild: number[] = []
        for (let i = 0; i < settings.rebuildRuns; i++) {
          await retagOne(shmStore, i)
          const started = performance.now()
          await buildSite(await LayoutStore.open(shmStore), { out: join(shm, 'site') })
          tmpfsRebuild.push(performance.now() - started)
        }
        tmpfs = { fullMs: full.ms, rebuild: { times: tmpfsRebuild, median: median(tmpfsRebuild) } }
        log(`(d) on tmpfs: full ${full.ms.toFixed(0)} ms, one-tag ${tmpfsRebuild.map((t) => t.toFixed(0)).join(', ')} ms`)
      } finally {
        rmSync(shm, { recursive: true, force: true })
      }
    }
    // The first build in a new process (JIT warm-up included, module loading not, as for the other rows),
    // as `zreg build` makes it. After the in-process rows: starting a process charges the builds after it
    // in this one for fork's copy-on-write (see disk-flush.ts).
    const coldOut = freshOut('scale-site-small')
    await flushDisk()
    const cold = await buildInNewProcess(small.dir, coldOut)
    if (cold.tags !== tags || cold.written !== repositories) issues.push(`first build in a new process: ${cold.tags} tags, ${cold.written} repositories written`)
    const fullCold = { ms: cold.ms }
    log(`(d) full build, ${tags} tags, 1 KiB layers, first in a new process: ${cold.ms.toFixed(0)} ms`)
    // The CLI, process start included.
    await retagOne(small.dir, r++)
    await waitForDist()
    const cliRun = await run(zregBin, ['build', '--store', small.dir, '--out', smallOut], { timeoutMs: 600000 })
    const reported = /in (\d+) ms/.exec(cliRun.stdout)
    const cli = { wallMs: cliRun.ms, reportedMs: reported ? Number(reported[1]) : undefined, output: cliRun.stdout.trim() }
    log(`(d) CLI one-tag rebuild: wall ${cliRun.ms.toFixed(0)} ms; ${cliRun.stdout.trim()}`)

    const d: BuildScaleResults = { repositories, tagsPerRepository, tags, fullSmall, fullBig, rebuild, metadataOpsMs, ...(tmpfs ? { tmpfs } : {}), fullCold, cli }
    pushRows(ctx, d)
    return d
  } finally {
    restoreIndex(small)
    for (const out of outs) rmSync(out, { recursive: true, force: true })
  }
}

function pushRows({ settings, rows }: PhaseContext, d: BuildScaleResults): void {
  const scale = `${d.tags.toLocaleString('en-US')} tags / ${d.repositories.toLocaleString('en-US')} repos`
  rows.push(
    row(`(d) full build, ${scale}, first in a new process (ms)`, { zreg: d.fullCold.ms, target: '<= 2000 ms', pass: () => d.fullCold.ms <= 2000, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) full build, ${scale}, warm, median of ${settings.fullBuildRuns} (ms)`, { zreg: d.fullSmall.median, target: '<= 2000 ms', pass: () => d.fullSmall.median <= 2000, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) one-tag rebuild, in-process (ms)`, { zreg: d.rebuild.median, target: '<= 100 ms', pass: () => d.rebuild.median <= 100, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) one-tag rebuild, zreg build CLI wall (ms)`, { zreg: d.cli.wallMs, target: 'info', valid: true, unit: 'ms', digits: 0, note: d.cli.reportedMs !== undefined ? `build itself ${d.cli.reportedMs} ms` : undefined }),
    row(`(d) calibration: 5,000 mkdir/symlink on this disk (ms)`, { zreg: d.metadataOpsMs, target: 'info (tmpfs: ~30)', valid: true, unit: 'ms', digits: 0 }),
    ...(d.tmpfs
      ? [
          row(`(d) full build on tmpfs, ${scale} (ms)`, { zreg: d.tmpfs.fullMs, target: 'info', valid: true, unit: 'ms', digits: 0 }),
          row(`(d) one-tag rebuild on tmpfs (ms)`, { zreg: d.tmpfs.rebuild.median, target: 'info', valid: true, unit: 'ms', digits: 0 }),
        ]
      : []),
    row(`(d) full build, 20 MiB vs 1 KiB layers, warm (ms)`, {
      zreg: d.fullBig.median,
      ratio: ratioOf(d.fullBig.median, d.fullSmall.median),
      ratioNote: '20MiB/1KiB',
      target: '~1 (0.75..1.33)',
      pass: (x) => x >= 0.75 && x <= 1.33,
      valid: true,
      unit: 'ms',
      digits: 0,
    }),
  )
}
