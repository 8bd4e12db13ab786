import * as Args from '@oclif/core/args'
import { storeFlag, ZregCommand } from '../cli/base-command.js'
import { removeImage } from '../maintenance/edit-tags.js'

export default class Rm extends ZregCommand {
  static override summary = 'Remove a tag, or a manifest by digest with its tags, from the store.'
  static override description = `REFERENCE is REPOSITORY:TAG (that tag only) or REPOSITORY@DIGEST (the manifest leaves the repository, and every tag naming it goes too), as a registry's manifest DELETE does; push mode's DELETE takes the same path. The bytes stay until \`zreg gc\`; run \`zreg build\` to publish the change.`

  static override examples = ['<%= config.bin %> rm team/app:1.2.0-rc1', '<%= config.bin %> rm team/app@sha256:0123...cdef --json']

  static override args = {
    reference: Args.string({ required: true, description: 'REPOSITORY:TAG or REPOSITORY@DIGEST' }),
  }

  static override flags = { store: storeFlag }

  async run(): Promise<{ removed: { repository: string; tag?: string; digest: string }[] }> {
    const { args, flags } = await this.parse(Rm)
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const removed = (await removeImage(store, args.reference)).map((ref) => ({ repository: ref.repository, ...(ref.tag === undefined ? {} : { tag: ref.tag }), digest: ref.descriptor.digest }))
    for (const ref of removed) this.log(`removed ${ref.repository}${ref.tag === undefined ? '@' + ref.digest : `:${ref.tag}`}`)
    return { removed }
  }
}
