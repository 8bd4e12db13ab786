import * as Args from '@oclif/core/args'
import { inspectImage, type InspectResult } from '../query/inspect-image.js'
import { formatBytes, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Inspect extends ZregCommand {
  static override summary = 'Show an image in the store: platforms, layers and sizes.'
  static override examples = ['<%= config.bin %> inspect library/alpine:3.19', '<%= config.bin %> inspect app@sha256:... --json']

  static override args = {
    image: Args.string({ required: true, description: 'REPO:TAG or REPO@DIGEST' }),
  }

  static override flags = { store: storeFlag }

  async run(): Promise<InspectResult> {
    const { args, flags } = await this.parse(Inspect)
    const store = await this.openStore(flags.store, await this.config_(flags), { create: false })
    const result = await inspectImage(store, args.image)
    this.log(`${result.name}  ${result.digest}  ${result.mediaType}`)
    for (const image of result.images) {
      this.log(`  ${image.platform ?? image.artifactType ?? '(no platform)'}  ${image.digest}  ${image.layers.length} layers, ${formatBytes(image.totalSize)}`)
      for (const layer of image.layers) this.log(`    ${layer.digest}  ${formatBytes(layer.size)}  ${layer.mediaType}`)
      if (image.subject) this.log(`    subject: ${image.subject.digest}`)
    }
    return result
  }
}
