import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { buildSite } from '../../src/build/build-site.js'
import { LayoutStore } from '../../src/store/layout-store.js'
import { ensureScaleStore, restoreIndex, retagOne } from '../data/scale-store.js'
import { dataDir, zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { row } from '../report/rows.js'
import { flushDisk } from '../support/disk-flush.js'
import { log } from '../support/log.js'
import { median } from '../support/stats.js'
import { type TimedSeries } from './d-build-scale.js'
import { run } from '../support/children.js'
import { rssSampler } from '../support/rss.js'

/** results.json `buildScaleLarge`. Times are milliseconds. */
export interface LargeBuildScaleResults {
  repositories: number
  tagsPerRepository: number
  tags: number
  /** The first build, through the CLI (`zreg build`, with the V8 flags bin/run.js gives it): its wall time and peak RSS (VmHWM, MB). */
  full: { ms: number; maxRssMB: number }
  rebuild: TimedSeries
  /** One-tag writes of index.json: the first through a store (it reads the file), then the next through the same store (push mode's case). */
  indexWrite: { first: number; next: TimedSeries }
}

/**
 * (d) at 10x: a store of settings.largeScaleRepositories x 10 tags (100,000 in a full run), 1 KiB
 * layers. A full build by the CLI, with its peak RSS; then one-tag
 * rebuilds in this process, as the smaller store's; then one-tag writes of index.json through one store.
 */
export async function measureLargeBuildScale(ctx: PhaseContext): Promise<LargeBuildScaleResults> {
  const { settings, issues } = ctx
  const repositories = settings.largeScaleRepositories
  const tagsPerRepository = settings.scaleTagsPerRepository
  const tags = repositories * tagsPerRepository
  const store = await ensureScaleStore(repositories, tagsPerRepository, settings.scaleSmallLayerBytes)
  const out = join(dataDir, 'scale-site-large')
  rmSync(out, { recursive: true, force: true })
  try {
    await flushDisk()
    const first = await buildThroughCli(store.dir, out)
    if (first.tags !== tags || first.written !== repositories) issues.push(`large full build: ${first.tags} tags, ${first.written} repositories written`)
    log(`(d) full build, ${tags} tags, zreg build: ${first.ms.toFixed(0)} ms, peak RSS ${first.maxRssMB.toFixed(0)} MB`)

    const times: number[] = []
    for (let r = 0; r < settings.rebuildRuns; r++) {
      await retagOne(store.dir, r)
      await flushDisk()
      const started = performance.now()
      const result = await buildSite(await LayoutStore.open(store.dir), { out })
      times.push(performance.now() - started)
      if (result.repositoriesWritten !== 1) issues.push(`large one-tag rebuild wrote ${result.repositoriesWritten} repositories, expected 1`)
    }
    log(`(d) one-tag rebuild, ${tags} tags: ${times.map((t) => t.toFixed(0)).join(', ')} ms`)

    // Each rebuild above retagged through a store of its own (a read each time): now one store for all.
    const writer = await LayoutStore.open(store.dir, { create: false })
    const timed = async (r: number) => {
      const started = performance.now()
      await retagOne(store.dir, r, writer)
      return performance.now() - started
    }
    const firstWrite = await timed(settings.rebuildRuns)
    const nextWrites: number[] = []
    for (let r = 1; r <= settings.rebuildRuns; r++) nextWrites.push(await timed(settings.rebuildRuns + r))
    log(`(d) index.json write, ${tags} tags: first through a store ${firstWrite.toFixed(0)} ms, next ${nextWrites.map((t) => t.toFixed(0)).join(', ')} ms`)
    const d: LargeBuildScaleResults = {
      repositories,
      tagsPerRepository,
      tags,
      full: { ms: first.ms, maxRssMB: first.maxRssMB },
      rebuild: { times, median: median(times) },
      indexWrite: { first: firstWrite, next: { times: nextWrites, median: median(nextWrites) } },
    }
    pushRows(ctx, d)
    return d
  } finally {
    restoreIndex(store)
    rmSync(out, { recursive: true, force: true })
  }
}

/**
 * `zreg build` of `storeDir` as a user runs it (bin/run.js, so with its V8 flags), timed from spawn to
 * exit, with the peak RSS the kernel recorded for it (VmHWM, sampled until it exits).
 */
async function buildThroughCli(storeDir: string, out: string): Promise<{ ms: number; maxRssMB: number; tags: number; written: number }> {
  let sampler: ReturnType<typeof rssSampler> | undefined
  const result = await run(zregBin, ['build', '--store', storeDir, '--out', out, '--json'], { timeoutMs: 1200000, onSpawn: (pid) => (sampler = rssSampler(pid)) })
  const peak = sampler?.stop()
  const built = JSON.parse(result.stdout) as { tags: number; repositoriesWritten: number }
  return { ms: result.ms, maxRssMB: peak?.hwmMB ?? NaN, tags: built.tags, written: built.repositoriesWritten }
}

function pushRows({ rows }: PhaseContext, d: LargeBuildScaleResults): void {
  const scale = `${d.tags.toLocaleString('en-US')} tags / ${d.repositories.toLocaleString('en-US')} repos`
  rows.push(
    row(`(d) full build, ${scale}, zreg build (ms)`, { zreg: d.full.ms, target: '<= 10000 ms', pass: () => d.full.ms <= 10000, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) full build, ${scale}, peak RSS (MB)`, { zreg: d.full.maxRssMB, target: '<= 300 MB', pass: () => d.full.maxRssMB <= 300, valid: true, unit: 'MB', digits: 0 }),
    row(`(d) one-tag rebuild, ${scale}, in-process (ms)`, { zreg: d.rebuild.median, target: '<= 100 ms', pass: () => d.rebuild.median <= 100, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) index.json write of one tag, ${scale}, through one store after its first (ms)`, {
      zreg: d.indexWrite.next.median,
      target: 'info',
      valid: true,
      unit: 'ms',
      digits: 0,
      note: `the first through a store (it reads index.json, as \`zreg add\`, \`tag\` and \`rm\` do) ${d.indexWrite.first.toFixed(0)} ms; push mode writes through one store`,
    }),
  )
}
