import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { imagesDir, type BenchImages } from '../data/bench-images.js'
import { dataDir, zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { run } from '../support/children.js'
import { syncDisk, treeBytes } from '../support/disk.js'
import { log } from '../support/log.js'
import { runMeasured, type MeasuredRun } from '../support/measured-run.js'

const ingestDir = join(dataDir, 'ingest')
const transports = ['docker-archive', 'oci-archive'] as const
type ArchiveTransport = (typeof transports)[number]

/** results.json `ingest`, per transport: both commands' runs (wall time, peak RSS, output) and the bytes each wrote. */
export type IngestResults = Partial<
  Record<
    ArchiveTransport,
    {
      archiveBytes: number
      zreg: MeasuredRun & { storeBytes: number }
      skopeo: MeasuredRun & { layoutBytes: number }
    }
  >
>

/** img300 written once by skopeo as a docker-archive (uncompressed layers, linked) and an oci-archive. */
async function ensureIngestArchives(images: BenchImages): Promise<Record<ArchiveTransport, string>> {
  mkdirSync(ingestDir, { recursive: true })
  const archives: Record<ArchiveTransport, string> = { 'docker-archive': join(ingestDir, 'img300.docker.tar'), 'oci-archive': join(ingestDir, 'img300.oci.tar') }
  for (const transport of transports) {
    const file = archives[transport]
    if (existsSync(file)) continue
    log(`(f) writing ${file} with skopeo`)
    rmSync(`${file}.partial`, { force: true })
    await run('skopeo', ['copy', '-q', `oci:${imagesDir}:${images.img300.ref}`, `${transport}:${file}.partial:${transport === 'docker-archive' ? images.img300.ref : images.img300.tag}`], { timeoutMs: 600000 })
    renameSync(`${file}.partial`, file)
  }
  return archives
}

/**
 * (f) ingest: `zreg add` of img300 as a docker-archive and an oci-archive against `skopeo copy` of the
 * same file into an oci: layout, each into an empty store under /usr/bin/time; then `zreg verify` of
 * that store against `openssl dgst -sha256` over the same blob files.
 */
export async function measureIngest(ctx: PhaseContext, images: BenchImages): Promise<IngestResults> {
  const { rows, issues } = ctx
  const archives = await ensureIngestArchives(images)
  const ingest: IngestResults = {}
  for (const transport of transports) {
    const file = archives[transport]
    const zregStore = join(ingestDir, 'zreg-store')
    const skopeoLayout = join(ingestDir, 'skopeo-layout')
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoLayout, { recursive: true, force: true })
    // Both read the archive from the page cache, and neither pays for the other's write-back.
    await run('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file])
    await syncDisk()
    const name = transport === 'oci-archive' ? ['--name', images.img300.repository] : []
    const zreg = await runMeasured(zregBin, ['add', `${transport}:${file}`, '--store', zregStore, ...name])
    await syncDisk()
    const skopeo = await runMeasured('skopeo', ['copy', '-q', `${transport}:${file}`, `oci:${skopeoLayout}:${images.img300.ref}`])
    const out = { archiveBytes: statSync(file).size, zreg: { ...zreg, storeBytes: treeBytes(zregStore) }, skopeo: { ...skopeo, layoutBytes: treeBytes(skopeoLayout) } }
    ingest[transport] = out
    // zreg verify hashes every blob the store holds; openssl dgst -sha256 hashes the same files in one
    // process: both from the page cache (the add just wrote them).
    const blobFiles = readdirSync(join(zregStore, 'blobs', 'sha256')).map((blob) => join(zregStore, 'blobs', 'sha256', blob))
    const verify = await runMeasured(zregBin, ['verify', '--store', zregStore], { allowFail: true })
    if (verify.code !== 0) issues.push(`(f) zreg verify after adding the ${transport}: ${verify.stderr.trim()}`)
    const openssl = await runMeasured('openssl', ['dgst', '-sha256', ...blobFiles])
    log(`(f) ${transport}: zreg verify ${verify.seconds.toFixed(2)} s, openssl dgst -sha256 ${openssl.seconds.toFixed(2)} s over ${blobFiles.length} blobs`)
    log(`(f) ${transport}: zreg add ${zreg.seconds.toFixed(1)} s, peak RSS ${zreg.peakRssMB.toFixed(0)} MB; skopeo copy ${skopeo.seconds.toFixed(1)} s, peak RSS ${skopeo.peakRssMB.toFixed(0)} MB`)
    rows.push(
      row(`(f) zreg add ${transport}: 300 MiB, 6 layers (s)`, {
        zreg: zreg.seconds,
        ratio: ratioOf(skopeo.seconds, zreg.seconds),
        ratioNote: 'skopeo/zreg',
        target: '>= 1.0x skopeo',
        pass: (r) => r >= 1.0,
        valid: verify.code === 0,
        unit: 's',
        note: `skopeo copy ${transport}: -> oci: ${skopeo.seconds.toFixed(1)} s, peak RSS ${skopeo.peakRssMB.toFixed(0)} MB; bytes written: zreg ${(out.zreg.storeBytes / 1e6).toFixed(0)} MB, skopeo ${(out.skopeo.layoutBytes / 1e6).toFixed(0)} MB`,
      }),
      row(`(f) zreg add ${transport}: peak RSS (MB)`, { zreg: zreg.peakRssMB, target: '< 150 MB', pass: (v) => v < 150, valid: verify.code === 0, unit: 'MB', digits: 1 }),
      row(`(f) zreg verify of that store, vs openssl dgst -sha256 (s)`, {
        zreg: verify.seconds,
        ratio: ratioOf(openssl.seconds, verify.seconds),
        ratioNote: 'openssl/zreg',
        target: '>= 1.0x openssl',
        pass: (r) => r >= 1.0,
        valid: verify.code === 0,
        unit: 's',
        note: `openssl dgst -sha256 over the ${blobFiles.length} blob files: ${openssl.seconds.toFixed(2)} s, one process; zreg verify includes its process start`,
      }),
    )
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoLayout, { recursive: true, force: true })
  }
  return ingest
}
