import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { formatBytes, storeFlag, ZregCommand } from '../cli/base-command.js'
import { remoteOptions } from '../cli/remote-flags.js'
import { createSyncProgress, failedLine, syncedLine, unchangedLine, type SyncProgress } from '../cli/sync-progress.js'
import { errorTable, ZregError } from '../errors.js'
import { loadSyncFile } from '../sync/sync-file.js'
import { runSync, type SyncedImage, type SyncSummary } from '../sync/run-sync.js'

/** One line per image, as the progress display and the log print it. */
function describe(image: SyncedImage): string {
  switch (image.status) {
    case 'fetched':
      return syncedLine(image.source, image.target, image.blobs ?? 0, image.bytes ?? 0)
    case 'unchanged':
      return unchangedLine(image.source, image.target)
    case 'would-fetch':
      return `would fetch ${image.source} -> ${image.target}`
    case 'failed':
      return failedLine(image.target ? `${image.source} -> ${image.target}` : image.source, image.error!.message)
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

export default class Sync extends ZregCommand {
  static override summary = 'Mirror the images a skopeo sync YAML file selects from registries into the store.'
  static override description = `FILE is skopeo sync's YAML, unchanged: per registry, \`images\` (REPO: [] for every tag, or a list of tags and digests), \`images-by-tag-regex\`, \`images-by-semver\`, \`credentials\`, \`tls-verify\`, \`cert-dir\`; plus zreg's keys \`platforms\`, \`keep-last\` (the N newest tags by version order), \`with-referrers\` and \`prefix\` (schemas/sync-file.json). \${VAR} and \${VAR:-default} are taken from the environment.
Each image is committed as soon as it is complete; one failing image stops nothing else, and the exit code is 5 when any failed. What the store holds costs one manifest request per tag: a second run downloads nothing that did not change upstream. Tags removed upstream stay unless --prune.`

  static override examples = [
    '<%= config.bin %> sync mirror.yaml',
    '<%= config.bin %> sync mirror.yaml --dry-run',
    '<%= config.bin %> sync mirror.yaml --prune --jobs 16 --json',
  ]

  static override args = {
    file: Args.string({ required: true, description: 'The sync file (skopeo sync YAML)' }),
  }

  static override flags = {
    store: storeFlag,
    'dry-run': Flags.boolean({ description: 'Resolve every tag and say what would be fetched; write nothing' }),
    prune: Flags.boolean({ description: 'Remove stored tags of the mirrored repositories that the selection no longer names (with --dry-run: list them)' }),
    scoped: Flags.boolean({ description: 'Store under HOST/REPO (as skopeo sync --scoped), for a mirror of several registries' }),
    jobs: Flags.integer({ char: 'j', description: 'Blob downloads (and images) at once [default: 8]', min: 1, max: 64 }),
  }

  async run(): Promise<SyncSummary> {
    const { args, flags } = await this.parse(Sync)
    const config = await this.config_(flags)
    const registries = await loadSyncFile(args.file)
    let progress: SyncProgress | undefined
    const run = (store: Parameters<typeof runSync>[0]) =>
      runSync(store, registries, {
        ...(flags['dry-run'] ? { dryRun: true } : {}),
        ...(flags.prune ? { prune: true } : {}),
        ...(flags.scoped ? { scoped: true } : {}),
        jobs: flags.jobs ?? 8,
        remote: { ...remoteOptions({}), onRetry: (event) => this.retried(event) },
        onImage: {
          planned: (images) => {
            progress = createSyncProgress({ stream: process.stderr, tty: process.stderr.isTTY === true && !this.jsonEnabled(), totalImages: images })
          },
          started: (id, label) => progress?.imageStarted(id, label),
          bytes: (id, bytes) => progress?.imageBytes(id, bytes),
          // A registry or repository that fails before the plan is known has no progress display yet.
          finished: (image) => (progress ? progress.imageFinished(image.target || image.source, describe(image)) : this.logToStderr(describe(image))),
        },
      })
    let summary: SyncSummary
    try {
      summary = flags['dry-run'] ? await run(await this.existingStore(flags.store, config)) : await this.withStore(flags.store, config, run)
    } finally {
      progress?.stop()
    }
    const count = (status: SyncedImage['status']) => summary.images.filter((image) => image.status === status).length
    const bytes = summary.images.reduce((sum, image) => sum + (image.bytes ?? 0), 0)
    const parts = flags['dry-run']
      ? [`${count('would-fetch')} to fetch`, `${count('unchanged')} unchanged`]
      : [`${count('fetched')} fetched (${formatBytes(bytes)})`, `${count('unchanged')} unchanged`]
    if (summary.failed > 0) parts.push(`${summary.failed} failed`)
    for (const ref of summary.pruned) this.logToStderr(`${flags['dry-run'] ? 'would prune' : 'pruned'} ${ref.repository}:${ref.tag}`)
    if (summary.pruned.length > 0) parts.push(`${plural(summary.pruned.length, 'tag')} ${flags['dry-run'] ? 'to prune' : 'pruned'}`)
    this.log(`${flags['dry-run'] ? 'dry run' : 'synced'}: ${plural(summary.images.length, 'image')}, ${parts.join(', ')}`)
    if (summary.failed > 0) {
      this.logToStderr(`zreg: ${summary.failed} of ${plural(summary.images.length, 'image')} failed (listed above)`)
      this.logToStderr(`  ${errorTable.SYNC_INCOMPLETE.hint}`)
      process.exitCode = errorTable.SYNC_INCOMPLETE.exit
    }
    return summary
  }

  /** The store, or undefined when there is none yet: a dry run creates nothing. */
  private async existingStore(flag: string | undefined, config: Awaited<ReturnType<ZregCommand['config_']>>): Promise<Awaited<ReturnType<ZregCommand['openStore']>> | undefined> {
    try {
      return await this.openStore(flag, config, { create: false })
    } catch (error) {
      if (error instanceof ZregError && error.code === 'STORE_NOT_FOUND') return undefined
      throw error
    }
  }
}
