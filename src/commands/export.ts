import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { formatBytes, overlayFlag, storeFlag, ZregCommand } from '../cli/base-command.js'
import { exportImage, parseExportDestination, type ExportResult } from '../maintenance/export-image.js'
import { parsePlatform } from '../oci/platform.js'
import { remoteOptions } from '../cli/remote-flags.js'

export default class Export extends ZregCommand {
  static override summary = 'Write an image of the store out: an OCI layout, an oci-archive, a docker-archive, or a push to a registry.'
  static override description = `IMAGE is REPOSITORY:TAG or REPOSITORY@DIGEST of the store. DEST is oci:DIR[:REF] (a new directory, or an OCI layout to add to), oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] (what \`docker load\` reads; one platform of an index: --platform, default this machine's) or docker://HOST/REPOSITORY[:TAG] (a push: which blobs the repository has is asked of all at once, missing ones are mounted from the repository of the same name as the source when the registry has it, else uploaded, in chunks when large; every platform of an index). The image is named REPOSITORY:TAG in it unless DEST gives a name. Blobs are copied as stored (digests unchanged), each file written whole.`

  static override examples = [
    '<%= config.bin %> export team/app:1.2 oci:./out',
    '<%= config.bin %> export team/app:1.2 oci-archive:app.tar',
    '<%= config.bin %> export team/app:1.2 docker-archive:app.tar:example/app:1.2 --platform linux/arm64',
    '<%= config.bin %> export team/app:1.2 docker://registry.example.com/team/app:1.2 --creds ci',
  ]

  static override args = {
    image: Args.string({ required: true, description: 'REPOSITORY:TAG or REPOSITORY@DIGEST' }),
    dest: Args.string({ required: true, description: 'oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] or docker://HOST/REPOSITORY[:TAG]' }),
  }

  static override flags = {
    store: storeFlag,
    overlay: overlayFlag,
    platform: Flags.string({ description: 'docker-archive: the platform of an index to write (os/arch[/variant]) [default: this machine]' }),
    creds: Flags.string({ description: 'docker://: USER[:PASS] for the registry (USER alone: the password from ZREG_PASSWORD); without it, auth.json and ~/.docker/config.json are read', env: 'ZREG_CREDS', helpGroup: 'REGISTRY' }),
    'tls-verify': Flags.string({ description: 'docker://: false accepts any certificate and allows plain http (loopback registries get http anyway)', options: ['true', 'false'], helpGroup: 'REGISTRY' }),
    'cert-dir': Flags.string({ description: 'docker://: CA certificates (*.crt) and a client certificate (*.cert + *.key) for the registry', helpGroup: 'REGISTRY' }),
    jobs: Flags.integer({ char: 'j', description: 'docker://: blob checks and uploads at once [default: 8]', min: 1, max: 64, helpGroup: 'REGISTRY' }),
  }

  async run(): Promise<ExportResult> {
    const { args, flags } = await this.parse(Export)
    const destination = parseExportDestination(args.dest)
    const store = await this.openStack(flags.store, flags.overlay, await this.config_(flags))
    const result = await exportImage(store, args.image, destination, { remote: remoteOptions(flags), ...(flags.platform === undefined ? {} : { platform: parsePlatform(flags.platform) }) })
    const push = result.push === undefined ? '' : ` (${result.push.uploaded} uploaded, ${formatBytes(result.push.bytes)}; ${result.push.mounted} mounted; ${result.push.existing} there already)`
    this.log(`exported ${args.image} (${result.digest}) to ${result.destination}: ${result.blobs} blobs, ${formatBytes(result.bytes)}${push}`)
    return result
  }
}
