import * as Args from '@oclif/core/args'
import { storeFlag, ZregCommand } from '../cli/base-command.js'
import { tagImage } from '../maintenance/edit-tags.js'

export default class Tag extends ZregCommand {
  static override summary = 'Point a tag of the store at the manifest another tag or digest names.'
  static override description = `SOURCE is REPOSITORY:TAG or REPOSITORY@DIGEST of the store; TARGET is REPOSITORY:TAG, in the same repository or another (blobs are shared by digest: no bytes move). A TARGET that exists is moved. The names are checked as every write checks them, the tree's collisions included. Run \`zreg build\` afterwards to publish the change.`

  static override examples = ['<%= config.bin %> tag team/app:1.2.0 team/app:stable', '<%= config.bin %> tag team/app@sha256:0123...cdef release/app:2026-11']

  static override args = {
    source: Args.string({ required: true, description: 'REPOSITORY:TAG or REPOSITORY@DIGEST in the store' }),
    target: Args.string({ required: true, description: 'REPOSITORY:TAG to point at it' }),
  }

  static override flags = { store: storeFlag }

  async run(): Promise<{ repository: string; tag: string; digest: string }> {
    const { args, flags } = await this.parse(Tag)
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const ref = await tagImage(store, args.source, args.target)
    this.log(`tagged ${ref.repository}:${ref.tag} ${ref.descriptor.digest}`)
    return { repository: ref.repository, tag: ref.tag!, digest: ref.descriptor.digest }
  }
}
