import { verifyStore, type VerifyResult } from '../query/verify-store.js'
import { formatBytes, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Verify extends ZregCommand {
  static override summary = 'Check the store: every reference complete, every blob present, sized and hashing to its digest.'
  static override description = 'Reads every blob a reference reaches once, hashing it. Exits 4 when anything is wrong, listing each problem. Also lists what interrupted runs left behind (staging files of processes that are gone): harmless, and removed by the next `zreg add`.'
  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify --store ./zreg-store --json']

  static override flags = { store: storeFlag }

  async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(Verify)
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const result = await verifyStore(store)
    for (const problem of result.problems) this.logToStderr(`${problem.reference}: ${problem.digest} ${problem.message}`)
    if (result.leftovers.length > 0) {
      const total = result.leftovers.reduce((sum, leftover) => sum + leftover.bytes, 0)
      this.logToStderr(`${result.leftovers.length} leftovers of interrupted runs (${formatBytes(total)}), safe to remove; the next \`zreg add\` removes them:`)
      for (const leftover of result.leftovers) this.logToStderr(`  ${leftover.path} (${formatBytes(leftover.bytes)})`)
    }
    this.log(`${result.problems.length === 0 ? 'ok' : `${result.problems.length} problems`}: ${result.references} references, ${result.blobs} blobs, ${formatBytes(result.bytes)} hashed`)
    if (result.problems.length > 0) process.exitCode = 4
    return result
  }
}
