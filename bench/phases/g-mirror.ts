import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchImages } from '../data/bench-images.js'
import { zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { waitForDist } from '../servers/zreg.js'
import { run } from '../support/children.js'
import { syncDisk, treeBytes } from '../support/disk.js'
import { log } from '../support/log.js'
import { runMeasured } from '../support/measured-run.js'
import { MiB } from '../support/stats.js'
import { checkMirrorStore, checkSkopeoSync, jsonOrTail, mirrorDownloadFloor, probeZregMirror, storeSnapshot } from './g-mirror-checks.js'
import { ensureMirrorImages, mirrorBig, mirrorDir, mirrorMany } from './g-mirror-data.js'
import { ensureMirrorRegistry, mirrorRegistry, type MirrorHeld } from './g-mirror-registry.js'

/** One zreg command's run: `exit` 0 or the figures mean nothing (n/a), `output` its --json summary. */
export interface ZregMirrorRun {
  exit: number | null
  seconds: number
  peakRssMB: number
  output: unknown
  problems: string[]
}

/** results.json `mirror`. */
export interface MirrorResults {
  tags: number
  distinctImages: number
  bigSource: string
  layers: MirrorHeld['layers']
  add: {
    zreg?: ZregMirrorRun & { storeBytes: number }
    skopeo?: { seconds: number; peakRssMB: number; layoutBytes: number }
    floor?: { nodeSeconds: number; curlSeconds: number }
  }
  sync: {
    first?: ZregMirrorRun
    again?: ZregMirrorRun
    storeBytes?: number
    skopeo?: { seconds: number; peakRssMB: number; dirBytes: number; problems: string[] }
  }
  /** Per side (`add`, `sync`): why zreg's side was not run. */
  notRun: Record<string, string>
}

/**
 * (g) mirror, from one distribution on loopback: `zreg add docker://` of the big image against `skopeo
 * copy` (and what the download alone costs), then `zreg sync` of every tag of bench/many, twice, against
 * `skopeo sync`; each into an empty store under /usr/bin/time.
 */
export async function measureMirror(ctx: PhaseContext, images: BenchImages | undefined): Promise<MirrorResults> {
  const { quick, settings, issues } = ctx
  mkdirSync(mirrorDir, { recursive: true })
  const data = await ensureMirrorImages(quick, settings, images)
  const { server, held } = await ensureMirrorRegistry(data, settings)
  const add: MirrorResults['add'] = {}
  const sync: MirrorResults['sync'] = {}
  const notRun: Record<string, string> = {}
  try {
    const host = `127.0.0.1:${server.port}`
    const base = `http://${host}`
    log(`(g) registry :${server.port}: ${mirrorBig.repository}:${mirrorBig.tag} and ${Object.keys(held.many).length} tags of ${mirrorMany} (layers: ${held.layers.references} references, ${held.layers.distinct} distinct)`)
    // Both sides read the registry's files from the page cache.
    await run('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'sh', mirrorRegistry], { timeoutMs: 600000 })
    await waitForDist()
    const probe = await probeZregMirror(base, settings.mirrorDistinctImages)
    for (const [side, why] of Object.entries(probe)) {
      if (!why) continue
      notRun[side] = why
      issues.push(`(g) zreg side of ${side === 'add' ? 'add docker://' : 'sync'} not run: ${why} (is the mirror feature, issue #8, in this build? npm run build)`)
      log(`(g) zreg side of ${side} not run: ${why}`)
    }

    // 1. One big image: zreg add docker:// against skopeo copy docker:// -> oci:, each into an empty store.
    const bigUrl = `docker://${host}/${mirrorBig.repository}:${mirrorBig.tag}`
    const zregStore = join(mirrorDir, 'zreg-store')
    const skopeoOut = join(mirrorDir, 'skopeo-out')
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })
    if (!notRun.add) {
      await syncDisk()
      const r = await runMeasured(zregBin, ['add', bigUrl, '--store', zregStore, '--json'], { allowFail: true })
      const problems = r.code === 0 ? await checkMirrorStore(zregStore, { [`${mirrorBig.repository}:${mirrorBig.tag}`]: held.big }) : [`exit ${r.code}: ${r.stderr.slice(-500)}`]
      add.zreg = { exit: r.code, seconds: r.seconds, peakRssMB: r.peakRssMB, storeBytes: existsSync(zregStore) ? treeBytes(zregStore) : 0, output: jsonOrTail(r.stdout), problems }
      for (const p of problems) issues.push(`(g) zreg add ${bigUrl}: ${p}`)
      log(`(g) zreg add ${bigUrl}: ${r.seconds.toFixed(1)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB${problems.length ? ` (PROBLEMS: ${problems.join('; ')})` : ''}`)
    }
    await syncDisk()
    const sc = await runMeasured('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', bigUrl, `oci:${skopeoOut}:big`])
    add.skopeo = { seconds: sc.seconds, peakRssMB: sc.peakRssMB, layoutBytes: treeBytes(skopeoOut) }
    log(`(g) skopeo copy ${bigUrl} oci:: ${sc.seconds.toFixed(1)} s, peak RSS ${sc.peakRssMB.toFixed(0)} MB`)
    const floor = (add.floor = await mirrorDownloadFloor(host))
    log(`(g) the same layers only downloaded and discarded: node + undici ${floor.nodeSeconds.toFixed(2)} s, curl ${floor.curlSeconds.toFixed(2)} s`)
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })

    // 2. Every tag of bench/many: zreg sync (twice, the second changes nothing) against skopeo sync of the same file.
    const syncFile = join(mirrorDir, 'sync.yaml')
    writeFileSync(syncFile, `# written by bench/phases/g-mirror.ts: every tag of ${mirrorMany}\n${host}:\n  tls-verify: false\n  images:\n    ${mirrorMany}: []\n`)
    const expected = Object.fromEntries(Object.entries(held.many).map(([tag, digest]) => [`${mirrorMany}:${tag}`, digest]))
    if (!notRun.sync) {
      for (const which of ['first', 'again'] as const) {
        const before = which === 'again' ? storeSnapshot(zregStore) : undefined
        await syncDisk()
        const r = await runMeasured(zregBin, ['sync', syncFile, '--store', zregStore, '--json'], { allowFail: true })
        const problems = r.code === 0 ? await checkMirrorStore(zregStore, expected) : [`exit ${r.code}: ${r.stderr.slice(-500)}`]
        if (before !== undefined && r.code === 0 && storeSnapshot(zregStore) !== before) problems.push('the no-change run changed the store (index.json or blobs)')
        sync[which] = { exit: r.code, seconds: r.seconds, peakRssMB: r.peakRssMB, output: jsonOrTail(r.stdout), problems }
        for (const p of problems) issues.push(`(g) zreg sync (${which} run): ${p}`)
        log(`(g) zreg sync, ${which} run: ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB${problems.length ? ` (PROBLEMS: ${problems.join('; ')})` : ''}`)
        if (r.code !== 0) break
      }
      sync.storeBytes = existsSync(zregStore) ? treeBytes(zregStore) : 0
    }
    await syncDisk()
    const ss = await runMeasured('skopeo', ['--insecure-policy', 'sync', '--src', 'yaml', '--dest', 'dir', '--src-tls-verify=false', syncFile, skopeoOut])
    const skopeoProblems = checkSkopeoSync(skopeoOut, held.many)
    for (const p of skopeoProblems) issues.push(`(g) skopeo sync: ${p}`)
    sync.skopeo = { seconds: ss.seconds, peakRssMB: ss.peakRssMB, dirBytes: treeBytes(skopeoOut), problems: skopeoProblems }
    log(`(g) skopeo sync --src yaml --dest dir: ${ss.seconds.toFixed(1)} s, peak RSS ${ss.peakRssMB.toFixed(0)} MB${skopeoProblems.length ? ` (PROBLEMS: ${skopeoProblems.join('; ')})` : ''}`)
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })
  } finally {
    await server.stop()
  }
  const g: MirrorResults = { tags: settings.mirrorTags, distinctImages: settings.mirrorDistinctImages, bigSource: data.big.ref, layers: held.layers, add, sync, notRun }
  pushRows(ctx, g, held)
  return g
}

function pushRows({ quick, settings, rows }: PhaseContext, g: MirrorResults, held: MirrorHeld): void {
  const big = quick ? `6 x ${(settings.mirrorQuickLayerBytes / MiB).toFixed(0)} MiB` : '300 MiB, 6 layers'
  const tags = `${settings.mirrorTags} tags`
  const { add, sync } = g
  const za = add.zreg
  const okAdd = za !== undefined && za.problems.length === 0
  const first = sync.first
  const again = sync.again
  const skopeoAdd = add.skopeo!
  const skopeoSync = sync.skopeo!
  const floor = add.floor!
  const okFirst = first !== undefined && first.problems.length === 0 && skopeoSync.problems.length === 0
  const okAgain = again !== undefined && again.problems.length === 0
  const why = (side: string) => (g.notRun[side] ? `zreg not run: ${g.notRun[side]}` : undefined)
  // A run that failed has no figure (n/a; the issue says why); one whose checks failed is marked invalid.
  const figure = (measured: ZregMirrorRun | undefined, key: 'seconds' | 'peakRssMB') => (measured?.exit === 0 ? measured[key] : undefined)
  rows.push(
    row(`(g) zreg add docker:// ${big} (s)`, {
      zreg: figure(za, 'seconds'),
      ratio: ratioOf(skopeoAdd.seconds, figure(za, 'seconds')),
      ratioNote: 'skopeo/zreg',
      target: '>= 1.5x skopeo',
      pass: (r) => r >= 1.5,
      valid: okAdd,
      unit: 's',
      note: [
        why('add'),
        `skopeo copy docker:// -> oci: ${skopeoAdd.seconds.toFixed(1)} s, peak RSS ${skopeoAdd.peakRssMB.toFixed(0)} MB`,
        `bytes written: ${za ? `zreg ${(za.storeBytes / 1e6).toFixed(0)} MB, ` : ''}skopeo ${(skopeoAdd.layoutBytes / 1e6).toFixed(0)} MB`,
      ]
        .filter(Boolean)
        .join('; '),
    }),
    row(`(g) calibration: its layers downloaded and discarded by Node 20 + undici, all at once, start included (s)`, {
      zreg: floor.nodeSeconds,
      target: 'info',
      valid: true,
      unit: 's',
      digits: 2,
      note: `the least any Node program takes for this download on this machine; curl, one process per layer: ${floor.curlSeconds.toFixed(2)} s`,
    }),
    row(`(g) zreg add docker://: peak RSS (MB)`, { zreg: figure(za, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okAdd, unit: 'MB', digits: 1 }),
    row(`(g) zreg sync, ${tags} of ${mirrorMany} (s)`, {
      zreg: figure(first, 'seconds'),
      ratio: ratioOf(skopeoSync.seconds, figure(first, 'seconds')),
      ratioNote: 'skopeo/zreg',
      target: '>= 2x skopeo sync',
      pass: (r) => r >= 2,
      valid: okFirst,
      unit: 's',
      note: [
        why('sync'),
        `skopeo sync --src yaml --dest dir: ${skopeoSync.seconds.toFixed(1)} s, peak RSS ${skopeoSync.peakRssMB.toFixed(0)} MB`,
        `bytes written: ${sync.storeBytes !== undefined ? `zreg ${(sync.storeBytes / 1e6).toFixed(0)} MB, ` : ''}skopeo ${(skopeoSync.dirBytes / 1e6).toFixed(0)} MB (one dir: per tag)`,
        `${settings.mirrorDistinctImages} distinct images, ${held.layers.distinct} distinct layers`,
      ]
        .filter(Boolean)
        .join('; '),
    }),
    row(`(g) zreg sync: peak RSS (MB)`, { zreg: figure(first, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okFirst, unit: 'MB', digits: 1 }),
    row(`(g) zreg sync again, no change, ${tags} (s)`, { zreg: figure(again, 'seconds'), target: '<= 2 s', pass: (v) => v <= 2, valid: okAgain, unit: 's', digits: 2 }),
    row(`(g) zreg sync again: peak RSS (MB)`, { zreg: figure(again, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okAgain, unit: 'MB', digits: 1 }),
  )
}
