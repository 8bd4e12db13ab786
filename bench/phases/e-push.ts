import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { imageBlobFile, type BenchImages } from '../data/bench-images.js'
import { dataDir } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { diskWriteMBps, warmPageCache } from '../support/disk.js'
import { flushDisk } from '../support/disk-flush.js'
import { log } from '../support/log.js'
import { rssSampler, treeRssNow } from '../support/rss.js'
import { median, MiB } from '../support/stats.js'
import { pushTargets, rotated, withFreshServer } from './e-push-targets.js'
import { skopeoPush } from './e-skopeo-push.js'
import { curlUpload, ensureChunks, probeMonolithic, type UploadMode, type UploadRun } from './e-uploads.js'

const pushDir = join(dataDir, 'push')
const pushedKeys = ['img50', 'img300'] as const
const uploadKinds = ['monolithic', 'chunked'] as const

/** One server's skopeo pushes of one image: wall seconds, what was wrong with each result, the median. */
export interface SkopeoPushSeries {
  times: number[]
  problems: string[]
  median?: number
}

/** One server's uploads of one kind on one medium; seconds and MB/s are medians of the runs that succeeded. */
export interface UploadSeries {
  mode: UploadMode
  runs: UploadRun[]
  ok?: boolean
  medianSeconds?: number | undefined
  medianMBps?: number | undefined
  rssMaxMB?: number
  rssIdleMB?: number
}

/** results.json `push`. Keys below `upload` are `KIND MEDIUM` (`monolithic tmpfs`), then server names. */
export interface PushResults {
  blobBytes: number
  chunkBytes: number
  chunks: number
  /** By image key, then server name. */
  skopeo: Record<string, Record<string, SkopeoPushSeries>>
  upload: Record<string, Record<string, UploadSeries>>
  /** Per server: what POST ?digest= with a body answered, and so how its monolithic figure is taken. */
  monolithic: Record<string, { probeStatus: number; mode: UploadMode }>
  /** How fast this disk takes the blob written and fdatasync'd, MB/s: the bound of a durable upload. */
  diskWriteMBps: number
}

/**
 * (e) push: skopeo pushes of img50 and img300 into zreg push mode and distribution, then curl uploads of
 * the 300 MiB blob (monolithic and chunked) on tmpfs and on this disk; a fresh server on an empty store
 * for every push and upload.
 */
export async function measurePush(ctx: PhaseContext, images: BenchImages): Promise<PushResults> {
  const { settings, rows, issues } = ctx
  mkdirSync(pushDir, { recursive: true })
  const targets = pushTargets(pushDir)
  const blob = images.blob300.layers[0]!
  const file = imageBlobFile(blob)
  const chunks = await ensureChunks(file, blob.digest, blob.size, settings.uploadChunks)
  await warmPageCache([...pushedKeys.flatMap((k) => [images[k].config, images[k].manifest, ...images[k].layers].map(imageBlobFile)), file, ...chunks.map((c) => c.file)])
  const skopeo: PushResults['skopeo'] = {}
  const upload: PushResults['upload'] = {}
  const monolithic: PushResults['monolithic'] = {}

  // 1. skopeo copy oci: -> docker://, a fresh server for every push.
  for (const key of pushedKeys) {
    const image = images[key]
    const byTarget = (skopeo[key] = Object.fromEntries(targets.map((t): [string, SkopeoPushSeries] => [t.name, { times: [], problems: [] }])))
    for (let round = 0; round < settings.pushRounds; round++) {
      for (const target of rotated(targets, round)) {
        await withFreshServer(target, async (server) => {
          await flushDisk()
          const p = await skopeoPush(server, image)
          const entry = byTarget[target.name]!
          entry.times.push(p.seconds)
          entry.problems.push(...p.problems)
          for (const problem of p.problems) issues.push(`(e) ${target.name}: skopeo push of ${image.ref}: ${problem}`)
          log(`(e) ${target.name}: skopeo push ${image.ref} ${p.seconds.toFixed(2)} s${p.problems.length ? ` (PROBLEMS: ${p.problems.join('; ')})` : ''}`)
        })
      }
    }
    for (const entry of Object.values(byTarget)) entry.median = median(entry.times)
  }

  // 2. curl uploads of the 300 MiB blob: monolithic (or POST + PUT where unsupported) and chunked.
  for (const target of targets) {
    const status = await probeMonolithic(target, pushDir)
    monolithic[target.name] = { probeStatus: status, mode: status === 201 ? 'monolithic' : 'post-put' }
    if (status !== 201 && status !== 202) issues.push(`(e) ${target.name}: POST ?digest= with a body answered ${status} (expected 201, or 202 where monolithic uploads are unsupported)`)
    log(`(e) ${target.name}: POST ?digest= with the blob as body -> ${status}${status === 201 ? '' : '; its monolithic figures use POST then PUT ?digest= with the whole body'}`)
  }
  // Server-bound (the target) on tmpfs, where neither server waits for the disk; and on this disk, where
  // both wait for the fsync that makes an upload durable (info: bounded by the calibration below).
  const media = [...(existsSync('/dev/shm') ? [{ name: 'tmpfs', root: join('/dev/shm', `zreg-bench-push-${process.pid}`) }] : []), { name: 'disk', root: pushDir }]
  const diskMBps = await diskWriteMBps(pushDir, blob.size)
  log(`(e) calibration: ${(blob.size / MiB).toFixed(0)} MiB written and fdatasync'd on this disk at ${diskMBps.toFixed(0)} MB/s`)
  for (const medium of media) {
    mkdirSync(medium.root, { recursive: true })
    const mediumTargets = pushTargets(medium.root)
    try {
      for (const kind of uploadKinds) {
        const series = (upload[`${kind} ${medium.name}`] = Object.fromEntries(
          mediumTargets.map((t): [string, UploadSeries] => [t.name, { mode: kind === 'chunked' ? 'chunked' : monolithic[t.name]!.mode, runs: [] }]),
        ))
        for (let round = 0; round < settings.uploadRounds; round++) {
          for (const target of rotated(mediumTargets, round)) {
            const entry = series[target.name]!
            await withFreshServer(target, async (server) => {
              await flushDisk()
              const idleMB = treeRssNow(server.pid).totalMB
              const sampler = rssSampler(server.pid)
              const u = await curlUpload(server, { mode: entry.mode, file, digest: blob.digest, size: blob.size, chunks })
              u.rssMaxMB = sampler.stop().maxTotalMB
              u.rssIdleMB = idleMB
              entry.runs.push(u)
              if (!u.ok) issues.push(`(e) ${target.name}: ${kind} upload (${entry.mode}) of the 300 MiB blob on ${medium.name}: ${u.error}`)
              const steps = u.steps.map((s) => `${s.step} ${s.status} ${s.ms} ms`).join(', ')
              log(
                `(e) ${target.name}: ${kind} upload (${entry.mode}) on ${medium.name} ${u.seconds.toFixed(2)} s, ${u.MBps.toFixed(0)} MB/s, RSS idle ${idleMB.toFixed(1)} MB, max ${u.rssMaxMB.toFixed(1)} MB [${steps}]${u.ok ? '' : ` (FAILED: ${u.error})`}`,
              )
            })
          }
        }
        for (const entry of Object.values(series)) {
          const ok = entry.runs.filter((r) => r.ok)
          entry.ok = ok.length === entry.runs.length
          entry.medianSeconds = ok.length ? median(ok.map((r) => r.seconds)) : undefined
          entry.medianMBps = ok.length ? median(ok.map((r) => r.MBps)) : undefined
          entry.rssMaxMB = Math.max(...entry.runs.map((r) => r.rssMaxMB ?? NaN))
          entry.rssIdleMB = Math.max(...entry.runs.map((r) => r.rssIdleMB ?? NaN))
        }
      }
    } finally {
      if (medium.name === 'tmpfs') rmSync(medium.root, { recursive: true, force: true })
    }
  }
  const push: PushResults = { blobBytes: blob.size, chunkBytes: chunks[0]!.size, chunks: chunks.length, skopeo, upload, monolithic, diskWriteMBps: diskMBps }

  const zregPush = 'zreg push'
  const distribution = 'distribution'
  for (const key of pushedKeys) {
    const med = (name: string) => push.skopeo[key]![name]!.median
    const label = key === 'img50' ? '50 MiB (5 x 10 MiB)' : '300 MiB (6 x 50 MiB)'
    rows.push(
      row(`(e) skopeo push ${label}, s (median of ${settings.pushRounds})`, {
        zreg: med(zregPush),
        distribution: med(distribution),
        ratio: ratioOf(med(distribution), med(zregPush)),
        ratioNote: 'dist/zreg',
        target: '>= 1.0 (dist time / zreg time)',
        pass: (r) => r >= 1.0,
        valid: targets.every((t) => push.skopeo[key]![t.name]!.problems.length === 0),
        unit: 's',
        digits: 2,
      }),
    )
  }
  const series = (kind: string, medium: string, name: string) => push.upload[`${kind} ${medium}`]![name]!
  for (const medium of media) {
    for (const kind of uploadKinds) {
      const zs = series(kind, medium.name, zregPush)
      const ds = series(kind, medium.name, distribution)
      const label = kind === 'monolithic' ? 'monolithic POST ?digest=' : `chunked POST + ${chunks.length} x ${(chunks[0]!.size / MiB).toFixed(0)} MiB PATCH + PUT`
      const serverBound = medium.name === 'tmpfs'
      rows.push(
        row(`(e) upload 300 MiB blob, ${label}, on ${medium.name}, MB/s (median of ${settings.uploadRounds})`, {
          zreg: zs.medianMBps,
          distribution: ds.medianMBps,
          ratio: ratioOf(zs.medianMBps, ds.medianMBps),
          target: serverBound ? '>= 2x distribution (server-bound)' : `info (disk-bound: the disk writes ${diskMBps.toFixed(0)} MB/s)`,
          pass: serverBound ? (r) => r >= 2 : undefined,
          valid: zs.ok === true && ds.ok === true,
          unit: 'MB/s',
          note: kind === 'monolithic' && ds.mode !== 'monolithic' ? `distribution answers 202 to POST ?digest= with a body (no monolithic upload): its figure is POST then PUT ?digest= with the whole body` : undefined,
        }),
      )
    }
  }
  rows.push(row(`(e) calibration: 300 MiB written + fdatasync on this disk (MB/s)`, { zreg: diskMBps, target: 'info', valid: true, unit: 'MB/s', digits: 0 }))
  const first = media[0]!.name
  const mono = (name: string) => series('monolithic', first, name)
  const chunked = (name: string) => series('chunked', first, name)
  const pushIdleMB = Math.max(...Object.values(upload).flatMap((s) => s[zregPush]?.runs.map((r) => r.rssIdleMB ?? NaN) ?? []))
  const distributionIdleMB = Math.max(...Object.values(upload).flatMap((s) => s[distribution]?.runs.map((r) => r.rssIdleMB ?? NaN) ?? []))
  rows.push(
    row(`(e) idle RSS before an upload, the largest of all runs (MB)`, {
      zreg: pushIdleMB,
      distribution: distributionIdleMB,
      target: '<= 50 MB',
      pass: () => pushIdleMB <= 50,
      valid: Number.isFinite(pushIdleMB),
      unit: 'MB',
      digits: 1,
    }),
    row(`(e) max RSS during the 300 MiB monolithic upload (MB)`, {
      zreg: mono(zregPush).rssMaxMB,
      distribution: mono(distribution).rssMaxMB,
      target: 'info',
      valid: true,
      unit: 'MB',
      digits: 1,
      note: `idle before it: zreg push ${mono(zregPush).rssIdleMB!.toFixed(1)} MB, distribution ${mono(distribution).rssIdleMB!.toFixed(1)} MB; chunked upload max: zreg push ${chunked(zregPush).rssMaxMB!.toFixed(1)} MB, distribution ${chunked(distribution).rssMaxMB!.toFixed(1)} MB (VmRSS sampled every 100 ms)`,
    }),
  )
  return push
}
