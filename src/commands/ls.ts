import { Args } from '@oclif/core'
import { listRepositories, type ListedRepository } from '../query/list-images.js'
import { storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Ls extends ZregCommand {
  static override summary = 'List the repositories and tags in the store.'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls library/alpine --json']

  static override args = {
    repository: Args.string({ description: 'Only this repository' }),
  }

  static override flags = { store: storeFlag }

  async run(): Promise<{ repositories: ListedRepository[] }> {
    const { args, flags } = await this.parse(Ls)
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const repositories = await listRepositories(store, args.repository)
    for (const repository of repositories) {
      for (const tag of repository.tags) this.log(`${repository.name}:${tag.tag}\t${tag.digest}\t${tag.mediaType}`)
      for (const digest of repository.untagged) this.log(`${repository.name}@${digest}\t(untagged)`)
    }
    return { repositories }
  }
}
