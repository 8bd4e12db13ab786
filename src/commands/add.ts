import { Args, Flags } from '@oclif/core'
import { addImages, type AddedImage } from '../ingest/add.js'
import { parsePlatform } from '../oci/platform.js'
import { formatBytes, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Add extends ZregCommand {
  static override summary = 'Add images to the store, verifying every blob as it streams in.'
  static override description = `SOURCE uses skopeo's transport syntax:
  oci:DIR[:REF]              an OCI image layout (REF: a ref name in its index.json; all named images when absent)
  oci-archive:FILE[:REF]     a tar of an OCI image layout
  docker-archive:FILE[:REF]  what \`docker save\` writes (REF: repo:tag, or @N for the N-th image; all when absent)
OCI sources keep their exact bytes and digests. docker-archive images become Docker schema2 (or OCI with --format oci): gzip and zstd layers keep their bytes, plain tar layers are gzipped deterministically. Docker schema2 cannot express zstd layers: such an archive needs --format oci (zreg stops and says so).
Archives are read in place, links inside them followed; a link out of the archive is refused.
On any error (corrupt blob, truncated archive, invalid manifest, missing layer, unsafe path) nothing is added. Interrupted (Ctrl-C, kill), it removes what it staged first; what a kill -9 leaves, the next add removes (zreg verify lists it).`

  static override examples = [
    '<%= config.bin %> add oci:./layout:1.0 --name library/app:1.0',
    '<%= config.bin %> add oci-archive:image.tar --name app',
    '<%= config.bin %> add docker-archive:saved.tar',
    '<%= config.bin %> add oci:./layout:multi --platform linux/arm64 --name app:arm64',
  ]

  static override args = {
    source: Args.string({ required: true, description: 'oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:REF]' }),
  }

  static override flags = {
    store: storeFlag,
    name: Flags.string({ char: 'n', description: 'Store under REPO:TAG (one image), or REPO keeping the source tags' }),
    platform: Flags.string({ description: 'Keep only this platform of an index (os/arch[/variant])' }),
    format: Flags.string({ description: 'What docker-archive images become (oci is needed for zstd layers)', options: ['docker', 'oci'], default: 'docker' }),
  }

  async run(): Promise<{ images: AddedImage[] }> {
    const { args, flags } = await this.parse(Add)
    const config = await this.config_(flags)
    const images = await this.withStore(flags.store, config, (store) =>
      addImages(store, args.source, {
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
        format: flags.format as 'docker' | 'oci',
        onProgress: (progress) => this.progress(`adding: ${progress.blobs} blobs, ${formatBytes(progress.bytes)}`),
      }),
    )
    this.progressDone()
    for (const image of images) this.log(`added ${image.repository}:${image.tag} ${image.digest} (${image.mediaType})`)
    return { images }
  }
}
