import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { listRepositories, type ListedRepository } from '../query/list-images.js'
import { overlayFlag, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Ls extends ZregCommand {
  static override summary = 'List the repositories and tags in the store.'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls library/alpine --json', '<%= config.bin %> ls --overlay ./change-1234 --sources']

  static override args = {
    repository: Args.string({ description: 'Only this repository' }),
  }

  static override flags = {
    store: storeFlag,
    overlay: overlayFlag,
    sources: Flags.boolean({ description: 'Name the store each tag comes from, and the lower stores whose tag it hides' }),
  }

  async run(): Promise<{ repositories: ListedRepository[] }> {
    const { args, flags } = await this.parse(Ls)
    const store = await this.openStack(flags.store, flags.overlay, await this.config_(flags))
    const repositories = await listRepositories(store, args.repository, { sources: flags.sources })
    for (const repository of repositories) {
      for (const tag of repository.tags) {
        const from = tag.source === undefined ? '' : `\t${tag.source}${tag.shadows?.length ? ` (hides ${tag.shadows.join(', ')})` : ''}`
        this.log(`${repository.name}:${tag.tag}\t${tag.digest}\t${tag.mediaType}${from}`)
      }
      for (const digest of repository.untagged) this.log(`${repository.name}@${digest}\t(untagged)`)
    }
    return { repositories }
  }
}
