import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { formatBytes, outFlag, overlayFlag, redirectFlag, redirectRules, ZregCommand } from '../cli/base-command.js'
import { ZregError } from '../errors.js'
import { publishBlobs, redirectedBlobs } from '../publish/publish-blobs.js'
import { createPublishProgress } from '../cli/publish-progress.js'
import { defaultPublishJobs, type PublishSummary } from '../publish/publish-result.js'
import { publishTree } from '../publish/publish-target.js'

export default class Publish extends ZregCommand {
  static override summary = 'Copy the built tree to a directory or an S3 bucket, sending only what changed.'
  static override description = `TARGET is dir:PATH (another disk or mount: an atomic copy that serves as the original, hard links where on the same file system) or s3://BUCKET[/PREFIX] (the literal tree as objects, each with its Content-Type and Cache-Control).
The blobs the build redirected (zreg build --redirect) stay out of TARGET; an S3 TARGET gets an empty object for each that the bucket's website endpoint answers with a 301 to its target. --redirect (or redirects in the config file) redirects more of the tree's blobs in an S3 TARGET, without a rebuild; a dir: copy serves only the build's redirects.
With --blobs-to, the blobs the tree redirects (zreg build --redirect) go first to a second target, the one the CDN serves them from, read from the store the tree was built from; TARGET gets the rest.
Writes go in a safe order: blobs, manifests by digest, then tags, tag lists and referrers, then the catalog, /v2/ and the page; deletions last and only with --delete. Killed at any point, no tag names anything missing, and a rerun finishes the job. S3 credentials come from the AWS SDK's chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws/credentials and ~/.aws/config, AWS_PROFILE.`

  static override examples = [
    '<%= config.bin %> publish dir:/srv/registry',
    '<%= config.bin %> publish s3://my-bucket/registry --region eu-west-1',
    '<%= config.bin %> publish s3://mirror --endpoint http://127.0.0.1:9000 --path-style --delete',
    '<%= config.bin %> publish s3://mirror/site --dry-run --json',
    '<%= config.bin %> publish s3://origin --blobs-to s3://cdn-origin/blobs',
  ]

  static override args = {
    target: Args.string({ required: true, description: 'dir:PATH or s3://BUCKET[/PREFIX]' }),
  }

  static override flags = {
    out: outFlag,
    'blobs-to': Flags.string({
      description: "First send the blobs the tree redirects, from --store, to TARGET (dir:PATH or s3://BUCKET[/PREFIX], the CDN's origin) at ALGORITHM/HEX, as an OCI layout's blobs/ holds them",
      helpValue: 'TARGET',
    }),
    store: Flags.string({ description: 'With --blobs-to: the store the tree was built from [default: ./zreg-store]', env: 'ZREG_STORE' }),
    overlay: overlayFlag,
    redirect: redirectFlag,
    'dry-run': Flags.boolean({ description: 'Say what would be written and deleted; write nothing (with --json: every object)' }),
    delete: Flags.boolean({ description: 'Remove from the target what the tree no longer has (last, after every write)' }),
    jobs: Flags.integer({ char: 'j', description: `Writes at once [default: ${defaultPublishJobs}]`, min: 1, max: 64 }),
    verify: Flags.boolean({ description: 'S3: check the record of the last publish against the bucket listing first, and send again what is missing' }),
    endpoint: Flags.string({ description: 'S3: URL of an S3-compatible server (MinIO, Ceph, R2, ...) [default: AWS]', env: 'ZREG_S3_ENDPOINT' }),
    region: Flags.string({ description: 'S3: the bucket region [default: AWS_REGION, else us-east-1]' }),
    'path-style': Flags.boolean({ description: 'S3: the bucket in the path, not the host name (most S3-compatible servers need it)', allowNo: true }),
  }

  async run(): Promise<PublishSummary & { blobs?: PublishSummary }> {
    const { args, flags } = await this.parse(Publish)
    const config = await this.config_(flags)
    const settings = config.publish ?? {}
    const endpoint = flags.endpoint ?? settings.endpoint
    const region = flags.region ?? settings.region
    const pathStyle = flags['path-style'] ?? settings.pathStyle
    const progress = createPublishProgress({ stream: process.stderr, tty: process.stderr.isTTY === true && !this.jsonEnabled() })
    const s3 = { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), ...(pathStyle === undefined ? {} : { pathStyle }) }
    const out = flags.out ?? config.out ?? './zreg-site'
    const redirects = redirectRules(flags.redirect, config)
    let blobs: PublishSummary | undefined
    if (flags['blobs-to'] !== undefined) {
      // First, so no redirect the published tree answers names a blob the CDN lacks.
      const redirected = await redirectedBlobs(out, await this.openStack(flags.store, flags.overlay, config), redirects)
      if (redirected.length === 0) throw new ZregError('USAGE', `--blobs-to: the tree at ${out} redirects no blobs; build it with --redirect (or redirects in the config file) first`)
      blobs = await publishBlobs(redirected, flags['blobs-to'], s3, { dryRun: flags['dry-run'], jobs: flags.jobs ?? settings.jobs ?? defaultPublishJobs })
      this.report(blobs, 'blobs')
    }
    let summary: PublishSummary
    try {
      summary = await publishTree(out, args.target, {
        dryRun: flags['dry-run'],
        delete: flags.delete,
        verify: flags.verify,
        jobs: flags.jobs ?? settings.jobs ?? defaultPublishJobs,
        s3,
        redirects,
        onProgress: (state) => progress.update(state),
      })
    } finally {
      progress.stop()
    }
    this.report(summary, 'tree')
    return blobs === undefined ? summary : { ...summary, blobs }
  }

  /** One line for a publish (with --dry-run, a line per action first); the actions stay in --json only for a dry run. */
  private report(summary: PublishSummary, what: 'tree' | 'blobs'): void {
    if (summary.dryRun && !this.jsonEnabled()) {
      for (const action of summary.actions ?? []) this.log(`would ${action.action} ${action.key}${action.from ? ` (from ${action.from})` : ''}`)
    }
    const verb = summary.dryRun ? 'would publish' : 'published'
    const noun = what === 'blobs' ? 'redirected blobs to ' : ''
    this.log(`${verb} ${noun}${summary.target}: ${summary.uploaded} uploaded (${formatBytes(summary.bytes)}), ${summary.copied} copied, ${summary.skipped} unchanged, ${summary.deleted} deleted in ${summary.seconds.toFixed(2)} s`)
    if (!summary.dryRun) delete summary.actions
  }
}
