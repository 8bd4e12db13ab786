import * as Flags from '@oclif/core/flags'
import { parseDuration } from '../cli/duration.js'
import { formatBytes, storeFlag, ZregCommand } from '../cli/base-command.js'
import { collectGarbage, type GcResult } from '../maintenance/gc.js'

export default class Gc extends ZregCommand {
  static override summary = 'Remove the blobs nothing in the store refers to.'
  static override description = `Marks every blob a tag, an untagged manifest, a referrer or an index's child reaches, every blob pushed into a repository before a manifest names it, and every blob a running \`zreg add\`, \`zreg sync\` or push mode relies on; removes the rest that are older than --grace. Safe while those write: the sweep moves its candidates aside, looks again at what writers came to rely on meanwhile, and puts those back before it removes anything. --dry-run lists exactly what a run now would remove.
Blobs a \`zreg rm\`, a moved tag, or push mode's DELETE left behind are what it frees. A built tree keeps its own links to the blobs it holds: rebuild it to let their space go.`

  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc --grace 0 --json']

  static override flags = {
    store: storeFlag,
    'dry-run': Flags.boolean({ description: 'List what a run now would remove; remove nothing' }),
    grace: Flags.string({ description: 'Keep blobs written more recently than this, whatever refers to them (0, 90s, 10m, 1h30m, 2d) [default: 1h]' }),
  }

  async run(): Promise<GcResult> {
    const { flags } = await this.parse(Gc)
    const graceMs = flags.grace === undefined ? undefined : parseDuration(flags.grace, '--grace')
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const result = await collectGarbage(store, { dryRun: flags['dry-run'], ...(graceMs === undefined ? {} : { graceMs }) })
    if (result.dryRun && !this.jsonEnabled()) for (const blob of result.removed) this.log(`would remove ${blob.digest} (${formatBytes(blob.size)})`)
    const verb = result.dryRun ? 'would free' : 'freed'
    const restored = result.restored > 0 ? `, ${result.restored} put back (a writer relied on them)` : ''
    this.log(`${verb} ${formatBytes(result.bytes)}: ${result.removed.length} blobs${result.dryRun ? ' to remove' : ' removed'}, ${result.kept} kept${restored} in ${result.durationMs} ms`)
    return result
  }
}
