import type { Readable } from 'node:stream'
import pLimit, { type LimitFunction } from 'p-limit'
import { ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.js'
import { parseManifest, type Descriptor } from '../oci/manifest.js'
import { defaultTag, isRepository, registryComponent } from '../oci/reference.js'
import { lookupCredentials, type Credentials } from '../remote/credentials.js'
import { RegistryClient, type RegistryClientOptions } from '../remote/registry-client.js'
import { formatRemoteReference, parseRemoteReference, type RemoteReference } from '../remote/remote-reference.js'
import type { StoreStaging } from '../store/store.js'
import { ImageCopier, type BlobSource, type CopyOptions } from './copy-image.js'
import type { ImageSource, SourceImage, StoredImage, StoreImageOptions } from './image-source.js'

/** How `docker://` sources are reached: skopeo's flags and the sync file's keys. */
export interface RemoteOptions {
  /** `--creds USER:PASS`; without it, the credential files users already have (see lookupCredentials). */
  creds?: Credentials
  /** Where `creds` come from, for messages (default "--creds"). */
  credsSource?: string
  /** false: any certificate, and plain http (skopeo's --tls-verify=false). */
  tlsVerify?: boolean
  certDir?: string
  /** Store under `REGISTRY/REPOSITORY`, as skopeo sync --scoped names its targets. */
  scoped?: boolean
  /** Also copy what the referrers API (or the `<alg>-<hex>` tag) lists for each manifest. */
  withReferrers?: boolean
  /** Blob transfers at once (default 8). */
  jobs?: number
  onRetry?: RegistryClientOptions['onRetry']
  env?: NodeJS.ProcessEnv
}

/** What copiers of several images share: the bound on transfers, and the transfers in flight. */
export interface TransferPool {
  limit?: LimitFunction
  inflight?: Map<Digest, Promise<void>>
}

/** Referrers of referrers (a signature of an SBOM) are followed this deep. */
const maxReferrerDepth = 4

/**
 * The repository name a remote image is stored under with `scoped`: the registry first, as skopeo sync
 * --scoped does (`registry.example.com/up/small`). A port cannot be part of a repository name, so
 * `localhost:5000` becomes `localhost-5000`. NAME_INVALID when the result is no repository name.
 */
export function scopedRepository(registry: string, repository: string): string {
  const name = `${registryComponent(registry)}/${repository}`
  if (!isRepository(name)) throw new ZregError('NAME_INVALID', `docker://${registry}/${repository} scoped gives "${name}", which is no repository name; pass --name`)
  return name
}

/** A registry repository as a BlobSource: blobs from /blobs/, manifests from /manifests/ (those fetched already are kept). */
class RegistryRepository implements BlobSource {
  /** Manifests read while resolving a tag, so the copier does not fetch them twice. */
  readonly fetched = new Map<Digest, Buffer>()

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
  ) {}

  get name(): string {
    return `docker://${this.client.registry}/${this.repository}`
  }

  async open(digest: Digest, size?: number): Promise<Readable> {
    if (size === undefined) throw new ZregError('INTERNAL', `${this.name}: blob ${digest} asked for without its size`)
    return this.client.blobOpen(this.repository, digest, size)
  }

  async manifestBytes(descriptor: Descriptor): Promise<Buffer> {
    const kept = this.fetched.get(descriptor.digest)
    if (kept !== undefined) return kept
    const { bytes } = await this.client.manifestGet(this.repository, descriptor.digest)
    return bytes
  }

  /** GET by tag or digest; the bytes are kept for the copier. */
  async manifestGet(reference: string): Promise<Descriptor> {
    const { bytes, mediaType, digest } = await this.client.manifestGet(this.repository, reference)
    this.fetched.set(digest, bytes)
    return { mediaType: parseManifest(bytes, mediaType).mediaType, digest, size: bytes.length }
  }

  /**
   * What the registry lists as referrers of `digest`: its referrers API, else (a registry without it)
   * the index under the `<alg>-<hex>` tag, as the distribution-spec's fallback says; none when neither.
   */
  async referrers(digest: Digest): Promise<Descriptor[]> {
    const listed = await this.client.referrers(this.repository, digest)
    if (listed !== undefined) return listed
    const tag = `${digestAlgorithm(digest)}-${digestHex(digest)}`
    if ((await this.client.manifestHead(this.repository, tag)) === undefined) return []
    const index = parseManifest((await this.client.manifestGet(this.repository, tag)).bytes)
    return index.kind === 'index' ? index.index.manifests : []
  }
}

/**
 * `docker://REGISTRY/REPOSITORY[:TAG][@DIGEST]`: one image read from a registry. Manifests and blobs the
 * store holds are never fetched again; a tag whose manifest the store holds costs one HEAD request.
 */
export class RegistryImages implements ImageSource {
  private readonly repository: RegistryRepository

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: RemoteReference,
    private readonly options: { scoped?: boolean; withReferrers?: boolean } & TransferPool = {},
  ) {
    this.repository = new RegistryRepository(client, ref.repository)
  }

  /** The name the image is stored under unless --name says otherwise: REPO:TAG (TAG latest when none), or REPO@DIGEST for a digest alone. */
  get storedName(): string {
    const repository = this.options.scoped ? scopedRepository(this.ref.registry, this.ref.repository) : this.ref.repository
    if (this.ref.digest !== undefined && this.ref.tag === undefined) return `${repository}@${this.ref.digest}`
    return `${repository}:${this.ref.tag ?? defaultTag}`
  }

  /** SOURCE_NOT_FOUND for a tag the registry lacks, naming some tags it has (a listing that fails adds nothing). */
  private async tagUnknown(tag: string): Promise<ZregError> {
    const tags = await this.client.tagList(this.ref.repository).catch(() => undefined)
    const offered = tags === undefined ? '' : tags.length === 0 ? ' (the repository has no tags)' : ` (it has: ${tags.slice(0, 10).join(', ')}${tags.length > 10 ? `, and ${tags.length - 10} more` : ''})`
    return new ZregError('SOURCE_NOT_FOUND', `docker://${this.ref.registry}/${this.ref.repository}:${tag}: no such manifest${offered}`)
  }

  async select(reference: string | undefined): Promise<SourceImage[]> {
    if (reference !== undefined) throw new ZregError('SOURCE_INVALID', `docker://${formatRemoteReference(this.ref)} takes no further reference ("${reference}")`)
    return [{ names: [this.storedName], store: (staging, options) => this.store(staging, options) }]
  }

  async close(): Promise<void> {
    await this.client.close()
  }

  /**
   * The manifest the reference names. A digest, or a tag whose HEAD gives a digest the store holds,
   * costs no GET: the copier reads the stored manifest. Narrowing to platforms needs the bytes, so
   * then the tag is read with one GET.
   */
  private async resolve(staging: StoreStaging, narrowing: boolean): Promise<Descriptor> {
    const { digest } = this.ref
    const tag = this.ref.tag ?? defaultTag
    if (digest !== undefined) {
      const size = await staging.blobStat(digest)
      if (size === undefined) return this.repository.manifestGet(digest)
      return { mediaType: parseManifest(await staging.blobBytes(digest, size)).mediaType, digest, size }
    }
    if (!narrowing) {
      const head = await this.client.manifestHead(this.ref.repository, tag)
      if (head === undefined) throw await this.tagUnknown(tag)
      if (head.digest !== undefined) {
        // Another tag of the same image, being copied right now: wait for it rather than fetch it twice.
        await this.options.inflight?.get(head.digest)?.catch(() => undefined)
        if ((await staging.blobStat(head.digest)) === head.size) return { mediaType: head.mediaType, digest: head.digest, size: head.size }
      }
    }
    return this.repository.manifestGet(tag)
  }

  async store(staging: StoreStaging, options: StoreImageOptions): Promise<StoredImage> {
    const copyOptions: CopyOptions = {
      ...(this.options.limit ? { limit: this.options.limit } : {}),
      ...(this.options.inflight ? { inflight: this.options.inflight } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }
    const platforms = options.platforms ?? []
    const top = await this.resolve(staging, platforms.length > 0)
    const copier = new ImageCopier(this.repository, staging, { ...copyOptions, ...(platforms.length > 0 ? { platforms } : {}) })
    const descriptor = await copier.copy(top)
    if (!this.options.withReferrers) return { descriptor }
    // Referrers are artifacts: no platform narrowing applies to them.
    const artifacts = new ImageCopier(this.repository, staging, copyOptions)
    return { descriptor, referrers: await this.copyReferrers(copier.manifests, artifacts) }
  }

  private async copyReferrers(subjects: Descriptor[], copier: ImageCopier): Promise<Descriptor[]> {
    const seen = new Set<Digest>(subjects.map((subject) => subject.digest))
    const copied: Descriptor[] = []
    let level = subjects
    for (let depth = 0; depth < maxReferrerDepth && level.length > 0; depth++) {
      const next: Descriptor[] = []
      for (const subject of level) {
        for (const referrer of await this.repository.referrers(subject.digest)) {
          if (seen.has(referrer.digest)) continue
          seen.add(referrer.digest)
          const stored = await copier.copy({ mediaType: referrer.mediaType, digest: referrer.digest, size: referrer.size })
          copied.push(stored)
          next.push(stored)
        }
      }
      level = next
    }
    return copied
  }
}

/** `docker://TEXT` as an ImageSource, connected with `remote`'s credentials, TLS and bounds. */
export async function openRegistrySource(text: string, remote: RemoteOptions): Promise<RegistryImages> {
  const ref = parseRemoteReference(text)
  return new RegistryImages(await connectRegistry(ref, remote), ref, {
    ...(remote.scoped ? { scoped: true } : {}),
    ...(remote.withReferrers ? { withReferrers: true } : {}),
    ...(remote.jobs ? { limit: pLimit(remote.jobs) } : {}),
  })
}

/** Connects to the registry of `ref` with the credentials found for it (see lookupCredentials). */
export async function connectRegistry(ref: RemoteReference, options: RemoteOptions): Promise<RegistryClient> {
  const env = options.env ?? process.env
  const found = await lookupCredentials(ref, { ...(options.creds ? { creds: options.creds } : {}), env })
  return RegistryClient.connect({
    registry: ref.registry,
    ...(found.credentials ? { credentials: found.credentials } : {}),
    ...(found.source ? { credentialSource: options.creds && options.credsSource ? options.credsSource : found.source } : {}),
    ...(found.helper ? { credentialHelper: found.helper } : {}),
    ...(options.tlsVerify !== undefined ? { tlsVerify: options.tlsVerify } : {}),
    ...(options.certDir ? { certDir: options.certDir } : {}),
    ...(options.jobs ? { connections: options.jobs } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    env,
  })
}
