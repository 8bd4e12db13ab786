import { Args, Flags } from '@oclif/core'
import { formatBytes, overlayFlag, storeFlag, ZregCommand } from '../cli/base-command.js'
import { exportImage, parseExportDestination, type ExportResult } from '../maintenance/export-image.js'
import { parsePlatform } from '../oci/platform.js'

export default class Export extends ZregCommand {
  static override summary = 'Write an image of the store out as an OCI layout, an oci-archive or a docker-archive.'
  static override description = `IMAGE is REPOSITORY:TAG or REPOSITORY@DIGEST of the store. DEST is oci:DIR[:REF] (a new directory, or an OCI layout to add to), oci-archive:FILE[:REF] or docker-archive:FILE[:NAME:TAG] (what \`docker load\` reads; one platform of an index: --platform, default this machine's). The image is named REPOSITORY:TAG in it unless DEST gives a name. Blobs are copied as stored (digests unchanged), each file written whole.`

  static override examples = [
    '<%= config.bin %> export team/app:1.2 oci:./out',
    '<%= config.bin %> export team/app:1.2 oci-archive:app.tar',
    '<%= config.bin %> export team/app:1.2 docker-archive:app.tar:example/app:1.2 --platform linux/arm64',
  ]

  static override args = {
    image: Args.string({ required: true, description: 'REPOSITORY:TAG or REPOSITORY@DIGEST' }),
    dest: Args.string({ required: true, description: 'oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:NAME:TAG]' }),
  }

  static override flags = {
    store: storeFlag,
    overlay: overlayFlag,
    platform: Flags.string({ description: 'docker-archive: the platform of an index to write (os/arch[/variant]) [default: this machine]' }),
  }

  async run(): Promise<ExportResult> {
    const { args, flags } = await this.parse(Export)
    const destination = parseExportDestination(args.dest)
    const store = await this.openStack(flags.store, flags.overlay, await this.config_(flags))
    const result = await exportImage(store, args.image, destination, flags.platform === undefined ? {} : { platform: parsePlatform(flags.platform) })
    this.log(`exported ${args.image} (${result.digest}) to ${result.destination}: ${result.blobs} blobs, ${formatBytes(result.bytes)}`)
    return result
  }
}
