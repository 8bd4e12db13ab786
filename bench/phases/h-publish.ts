import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchImages } from '../data/bench-images.js'
import { ensureScaleStore, restoreIndex, retagOne } from '../data/scale-store.js'
import { dataDir, zregBin } from '../paths.js'
import type { PhaseContext } from '../phase-context.js'
import { ratioOf, row } from '../report/rows.js'
import { s3Credentials, s3Env, startS3rver } from '../servers/s3rver.js'
import { ensureZregSite, zregSite } from '../servers/zreg-site.js'
import { run } from '../support/children.js'
import { treeBytes } from '../support/disk.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'
import { MiB } from '../support/stats.js'

const publishDir = join(dataDir, 'publish')

/** results.json `publish`. Times in ms unless named seconds. */
export interface PublishResults {
  tree: { bytes: number; zreg: { wallMs: number; uploaded: number; copied: number; bytes: number }; rcloneMs: number }
  republish: { wallMs: number; seconds: number; written: number; uploaded: number; copied: number; firstMs: number; firstObjects: number }
}

/** The --json summary of `zreg publish`, and the command's wall time. */
interface PublishSummary {
  uploaded: number
  copied: number
  deleted: number
  bytes: number
  /** The command's own time. */
  seconds: number
  wallMs: number
}

/** rclone with the remote `s3:` configured by environment for s3rver at `endpoint`. */
function rcloneEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    ...s3Env(),
    RCLONE_CONFIG_S3_TYPE: 's3',
    RCLONE_CONFIG_S3_PROVIDER: 'Other',
    RCLONE_CONFIG_S3_ENDPOINT: endpoint,
    RCLONE_CONFIG_S3_ACCESS_KEY_ID: s3Credentials.AWS_ACCESS_KEY_ID,
    RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: s3Credentials.AWS_SECRET_ACCESS_KEY,
    RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3_REGION: 'us-east-1',
  }
}

/** `zreg publish` of `site` to s3://BUCKET/PREFIX (`target`) on `server`. */
async function zregPublish(server: Server, site: string, target: string, extra: string[] = []): Promise<PublishSummary> {
  const r = await run(zregBin, ['publish', target, '--out', site, '--endpoint', server.url, '--path-style', '--json', ...extra], { env: s3Env(), fullEnv: true, timeoutMs: 3600000 })
  return { ...(JSON.parse(r.stdout) as Omit<PublishSummary, 'wallMs'>), wallMs: r.ms }
}

/**
 * (h) publish, into s3rver on loopback: the bench tree (quick runs: the scale tree) by `zreg publish`
 * against `rclone sync`; then the scale site published, one tag changed, rebuilt and published again.
 */
export async function measurePublish(ctx: PhaseContext, images: BenchImages | undefined): Promise<PublishResults> {
  const { quick, settings, rows, issues } = ctx
  // Full runs publish the bench tree (the images of a-c, ~700 MB); quick runs the 1 KiB-layer scale tree.
  let tree: string
  if (quick) {
    const small = await ensureScaleStore(settings.scaleRepositories, settings.scaleTagsPerRepository, settings.scaleSmallLayerBytes)
    tree = join(publishDir, 'quick-site')
    await run(zregBin, ['build', '--store', small.dir, '--out', tree], { timeoutMs: 600000 })
  } else {
    if (images === undefined) throw new Error('(h) full runs publish the bench tree: the bench images are needed')
    await ensureZregSite(images)
    tree = zregSite
  }
  const treeBytesTotal = treeBytes(join(tree, 'v2'), { followLinks: true })
  const server = await startS3rver(join(publishDir, 's3rver'), ['zreg', 'rclone', 'scale'])
  let h: PublishResults
  try {
    const zreg = await zregPublish(server, tree, 's3://zreg/site')
    // rclone follows the tree's links (-L): the literal tree's repositories are links to their directories.
    const rclone = await run('rclone', ['--config', '/dev/null', 'sync', '-L', '--transfers', '8', '--checkers', '8', join(tree, 'v2'), 's3:rclone/site/v2'], { env: rcloneEnv(server.url), fullEnv: true, timeoutMs: 3600000 })
    const published = { bytes: treeBytesTotal, zreg: { wallMs: zreg.wallMs, uploaded: zreg.uploaded, copied: zreg.copied, bytes: zreg.bytes }, rcloneMs: rclone.ms }
    log(`(h) publish of the ${(treeBytesTotal / MiB).toFixed(0)} MiB tree: zreg ${(zreg.wallMs / 1000).toFixed(1)} s (${zreg.uploaded} uploaded, ${zreg.copied} copied), rclone sync ${(rclone.ms / 1000).toFixed(1)} s`)

    // The 10,000-tag site of (d): published once, then one tag changes and it is published again.
    const scale = await ensureScaleStore(settings.scaleRepositories, settings.scaleTagsPerRepository, settings.scaleSmallLayerBytes)
    const scaleSite = join(publishDir, 'scale-site')
    try {
      await run(zregBin, ['build', '--store', scale.dir, '--out', scaleSite], { timeoutMs: 600000 })
      const first = await zregPublish(server, scaleSite, 's3://scale/site', ['--jobs', '16'])
      log(`(h) first publish of the ${(settings.scaleRepositories * settings.scaleTagsPerRepository).toLocaleString('en-US')}-tag site: ${(first.wallMs / 1000).toFixed(1)} s, ${first.uploaded} uploaded, ${first.copied} copied`)
      await retagOne(scale.dir, 0)
      await run(zregBin, ['build', '--store', scale.dir, '--out', scaleSite], { timeoutMs: 600000 })
      const again = await zregPublish(server, scaleSite, 's3://scale/site')
      // Beside the objects: the keys about to change, written and then deleted, and the record.
      const written = again.uploaded + again.copied + again.deleted + 3
      const republish = { wallMs: again.wallMs, seconds: again.seconds, written, uploaded: again.uploaded, copied: again.copied, firstMs: first.wallMs, firstObjects: first.uploaded + first.copied }
      log(`(h) republish after a one-tag change: ${written} objects written (record included), ${(again.seconds * 1000).toFixed(0)} ms in the command, ${again.wallMs.toFixed(0)} ms wall`)
      if (again.uploaded + again.copied === 0) issues.push('(h) the republish after a one-tag change wrote nothing')
      h = { tree: published, republish }
    } finally {
      restoreIndex(scale)
      rmSync(scaleSite, { recursive: true, force: true })
    }
  } finally {
    await server.stop()
    rmSync(join(publishDir, 's3rver'), { recursive: true, force: true })
    if (quick) rmSync(tree, { recursive: true, force: true })
  }
  const tags = (settings.scaleRepositories * settings.scaleTagsPerRepository).toLocaleString('en-US')
  rows.push(
    row(`(h) publish the ${quick ? 'scale' : 'bench'} tree to s3rver: rclone sync time / zreg publish time`, {
      zreg: h.tree.zreg.wallMs / 1000,
      ratio: ratioOf(h.tree.rcloneMs, h.tree.zreg.wallMs),
      ratioNote: 'rclone/zreg',
      target: '>= 1.0x',
      pass: (x) => x >= 1.0,
      valid: true,
      unit: 's',
      digits: 1,
      note: `rclone sync ${(h.tree.rcloneMs / 1000).toFixed(1)} s; zreg ${h.tree.zreg.uploaded} uploaded, ${h.tree.zreg.copied} copied server-side`,
    }),
    row(`(h) republish after a one-tag change, ${tags} tags: objects written`, { zreg: h.republish.written, target: '<= 10', pass: (x) => x <= 10, valid: true, unit: 'objects', digits: 0 }),
    row(`(h) republish after a one-tag change, ${tags} tags: zreg publish (s)`, {
      zreg: h.republish.seconds,
      target: '<= 1 s',
      pass: (x) => x <= 1,
      valid: true,
      unit: 's',
      digits: 2,
      note: `the command's own time; first publish ${(h.republish.firstMs / 1000).toFixed(1)} s for ${h.republish.firstObjects} objects`,
    }),
    row(`(h) republish after a one-tag change, ${tags} tags: wall with process start (s)`, { zreg: h.republish.wallMs / 1000, target: 'info', valid: true, unit: 's', digits: 2 }),
  )
  return h
}
