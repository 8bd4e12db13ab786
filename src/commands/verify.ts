import * as Flags from '@oclif/core/flags'
import { verifyStore, type VerifyResult } from '../query/verify-store.js'
import { verifyTree } from '../query/verify-tree.js'
import { formatBytes, overlayFlag, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Verify extends ZregCommand {
  static override summary = 'Check the store: every reference complete, every blob present, sized and hashing to its digest.'
  static override description = `Reads every blob a reference reaches once, hashing it on every core. With --out, also checks the tree zreg build wrote against the store: every repository and tag there and nothing more, each tag naming the store's manifest with its media type, and every file's bytes hashing to the digest its headers give. Exits 4 when anything is wrong, listing each problem. Also lists what interrupted runs left behind (staging files of processes that are gone): harmless, and removed by the next \`zreg add\`.
With --overlay, the stores are checked as the stack a build reads (an overlay holds only what its images add).`
  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify --store ./zreg-store --json', '<%= config.bin %> verify --out ./zreg-site']

  static override flags = {
    store: storeFlag,
    overlay: overlayFlag,
    out: Flags.string({ description: 'Also check the tree zreg build wrote there against the store' }),
  }

  async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(Verify)
    const store = await this.openStack(flags.store, flags.overlay, await this.config_(flags))
    const result = await verifyStore(store)
    if (flags.out !== undefined) result.problems.push(...(await verifyTree(flags.out, store)))
    for (const problem of result.problems) this.logToStderr(`${problem.reference}: ${problem.digest ? `${problem.digest} ` : ''}${problem.message}`)
    if (result.leftovers.length > 0) {
      const total = result.leftovers.reduce((sum, leftover) => sum + leftover.bytes, 0)
      this.logToStderr(`${result.leftovers.length} leftovers of interrupted runs (${formatBytes(total)}), safe to remove; the next \`zreg add\` removes them:`)
      for (const leftover of result.leftovers) this.logToStderr(`  ${leftover.path} (${formatBytes(leftover.bytes)})`)
    }
    const tree = flags.out === undefined ? '' : ` and the tree ${flags.out}`
    this.log(`${result.problems.length === 0 ? 'ok' : `${result.problems.length} problems`}: ${result.references} references, ${result.blobs} blobs, ${formatBytes(result.bytes)} hashed${tree}`)
    if (result.problems.length > 0) process.exitCode = 4
    return result
  }
}
