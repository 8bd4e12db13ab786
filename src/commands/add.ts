import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { addImages, type AddedImage } from '../ingest/add.js'
import { parsePlatform } from '../oci/platform.js'
import { formatBytes, formatRate, storeFlag, ZregCommand } from '../cli/base-command.js'
import { remoteFlags, remoteOptions } from '../cli/remote-flags.js'
import { ZregError } from '../errors.js'

export default class Add extends ZregCommand {
  static override summary = 'Add images to the store, verifying every blob as it streams in.'
  static override description = `SOURCE uses skopeo's transport syntax:
  oci:DIR[:REF]              an OCI image layout (REF: a ref name in its index.json; all named images when absent)
  oci-archive:FILE[:REF]     a tar of an OCI image layout
  docker-archive:FILE[:REF]  what \`docker save\` writes (REF: repo:tag, or @N for the N-th image; all when absent)
  docker://HOST[:PORT]/REPO[:TAG][@DIGEST]  an image in a registry (docker.io/REPO as docker names it; TAG latest when absent)
Registry images: the whole index (every platform) unless --platform; blobs and manifests the store holds are not fetched again; downloads run in parallel (--jobs), resume after a broken connection and are retried with backoff on 5xx, 429 and dropped connections. Credentials: --creds, else the auth.json of skopeo/podman ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json), else ~/.docker/config.json. The image is stored as REPO:TAG without the host (--scoped keeps it: HOST/REPO, a port joined with "-"); added by digest alone, it is kept untagged unless --name gives a tag.
OCI sources keep their exact bytes and digests. docker-archive images become Docker schema2 (or OCI with --format oci): gzip and zstd layers keep their bytes, plain tar layers are gzipped deterministically. Docker schema2 cannot express zstd layers: such an archive needs --format oci (zreg stops and says so).
Archives are read in place, links inside them followed; a link out of the archive is refused.
On any error (corrupt blob, truncated archive, invalid manifest, missing layer, unsafe path) nothing is added. Interrupted (Ctrl-C, kill), it removes what it staged first; what a kill -9 leaves, the next add removes (zreg verify lists it).`

  static override examples = [
    '<%= config.bin %> add oci:./layout:1.0 --name library/app:1.0',
    '<%= config.bin %> add oci-archive:image.tar --name app',
    '<%= config.bin %> add docker-archive:saved.tar',
    '<%= config.bin %> add oci:./layout:multi --platform linux/arm64 --name app:arm64',
    '<%= config.bin %> add docker://quay.io/podman/stable:latest --platform linux/amd64 --platform linux/arm64',
    '<%= config.bin %> add docker://localhost:5000/team/app:1.2 --scoped --with-referrers',
  ]

  static override args = {
    source: Args.string({ required: true, description: 'oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or docker://HOST/REPO[:TAG|@DIGEST]' }),
  }

  static override flags = {
    store: storeFlag,
    name: Flags.string({ char: 'n', description: 'Store under REPO:TAG (one image), or REPO keeping the source tags' }),
    platform: Flags.string({ description: 'Keep only this platform of an index (os/arch[/variant]); repeat for several: one stores its manifest, several an index listing only them', multiple: true }),
    format: Flags.string({ description: 'What docker-archive images become (oci is needed for zstd layers)', options: ['docker', 'oci'], default: 'docker' }),
    scoped: Flags.boolean({ description: 'docker://: store under HOST/REPO (as skopeo sync --scoped), for a mirror of several registries', helpGroup: 'REGISTRY' }),
    'with-referrers': Flags.boolean({ description: 'docker://: also copy the signatures, SBOMs and attestations that refer to the image (referrers API, or the sha256-HEX tag)', helpGroup: 'REGISTRY' }),
    ...remoteFlags,
  }

  async run(): Promise<{ images: AddedImage[] }> {
    const { args, flags } = await this.parse(Add)
    const config = await this.config_(flags)
    const remoteOnly = (['scoped', 'with-referrers', 'creds', 'tls-verify', 'cert-dir'] as const).filter((flag) => flags[flag] !== undefined && flags[flag] !== false)
    if (remoteOnly.length > 0 && !args.source.startsWith('docker://')) {
      throw new ZregError('USAGE', `--${remoteOnly[0]} applies to registry sources (docker://HOST/REPO:TAG) only, not to ${args.source}`)
    }
    const started = Date.now()
    const images = await this.withStore(flags.store, config, (store) =>
      addImages(store, args.source, {
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.platform ? { platforms: flags.platform.map(parsePlatform) } : {}),
        format: flags.format as 'docker' | 'oci',
        remote: { ...remoteOptions(flags), scoped: flags.scoped, withReferrers: flags['with-referrers'], onRetry: (event) => this.retried(event) },
        onProgress: (progress) => this.progress(`adding: ${progress.blobs} blobs, ${formatBytes(progress.bytes)}${formatRate(progress.bytes, Date.now() - started)}`),
      }),
    )
    this.progressDone()
    for (const image of images) this.log(`added ${image.repository}${image.tag === undefined ? '@' : `:${image.tag} `}${image.digest} (${image.mediaType})`)
    return { images }
  }
}
