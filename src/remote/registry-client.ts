import type { Readable } from 'node:stream'
import { Agent } from 'undici'
import { ZregError } from '../errors.js'
import { digestAlgorithm, digestOf, isDigest, type Digest } from '../oci/digest.js'
import { maxManifestBytes, readManifestBytes, type Descriptor } from '../oci/manifest.js'
import { MediaTypes } from '../oci/media-types.js'
import type { Credentials } from './credentials.js'
import { RegistryAuth } from './registry-auth.js'
import { isLoopbackRegistry, normalizeRegistry, registryEndpoint } from './remote-reference.js'
import { resumableBlob, type ResumedBody } from './resumable-blob.js'
import { discardBody, header, readErrorBody, sendRequest, type HttpResponse, type OutgoingRequest, type RequestContext, type RetryEvent } from './retrying-request.js'
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.js'
import { loadTlsOptions } from './tls-options.js'
import { isCertificateError, isNotTls } from './transport-error.js'

export type { RetryPolicy } from './retry-policy.js'

export interface RegistryClientOptions {
  registry: string
  credentials?: Credentials
  /** Named in REMOTE_UNAUTHORIZED messages. */
  credentialSource?: string
  /** Named in REMOTE_UNAUTHORIZED messages ("... configures docker-credential-X for HOST, which zreg does not run: pass --creds"). */
  credentialHelper?: string
  /** Default true. false: accept any certificate AND allow plain http (skopeo's meaning). */
  tlsVerify?: boolean
  /**
   * skopeo's --cert-dir: *.crt are CAs added to the system ones, *.cert + *.key a client certificate.
   * Default: /etc/containers/certs.d/<registry> then /etc/docker/certs.d/<registry>, when present.
   */
  certDir?: string
  /** Connections to the registry at once (default 8). */
  connections?: number
  /** Default { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 }. */
  retry?: Partial<RetryPolicy>
  onRetry?: (event: RetryEvent) => void
  /** A body that brings no byte for this long counts as a broken connection (default 60 s). */
  bodyTimeoutMs?: number
  /** The environment (default process.env). Not read yet: kept in the shape for proxy settings (HTTPS_PROXY), which zreg does not honour yet. */
  env?: NodeJS.ProcessEnv
}

/** What the manifest endpoints accept: both index kinds and both image manifest kinds. */
export const manifestAccept = [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest].join(', ')

const defaultConnections = 8
const defaultBodyTimeoutMs = 60_000
const maxRedirects = 10
const redirectStatuses = new Set([301, 302, 303, 307, 308])

/** A non-success answer the caller decides about (404 mostly); auth and redirects are handled before. */
interface Refusal {
  status: number
  headers: HttpResponse['headers']
  words: string
}

type Outcome<T> = { ok: T } | { refusal: Refusal }

/** The media type of a Content-Type, without parameters. */
function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase()
  return type === '' ? undefined : type
}

/** `Link: <url>; rel="next"` (RFC 8288) as used by tag list and referrers pagination. */
export function nextLink(value: string | string[] | undefined): string | undefined {
  for (const link of (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((v) => v.split(/,(?=\s*<)/))) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(link)
    if (match && /;\s*rel\s*=\s*"?next"?(?:[\s;]|$)/i.test(match[2]!)) return match[1]
  }
  return undefined
}

/**
 * A client of one registry's distribution-spec read API (GET/HEAD of manifests and blobs, tags, referrers):
 * one undici Agent with keep-alive connections and the TLS options, the auth flows of RegistryAuth, retries
 * with backoff (sendRequest), redirects followed with Authorization kept to the registry's origin.
 */
export class RegistryClient {
  readonly registry: string
  /** `https://host[:port]` or `http://...`, the origin requests go to. */
  readonly base: URL
  private readonly auth: RegistryAuth
  private readonly context: RequestContext

  private constructor(registry: string, base: URL, context: RequestContext, auth: RegistryAuth) {
    this.registry = registry
    this.base = base
    this.context = context
    this.auth = auth
  }

  /**
   * Pings GET /v2/ (200 or 401 = a registry; anything else REMOTE_INVALID). https first; plain http only
   * when the host is loopback (localhost, 127.0.0.0/8, ::1) or tlsVerify is false, as docker and skopeo
   * allow. Throws TLS_FAILED (certificate), HOST_UNKNOWN (DNS), REMOTE_UNAVAILABLE (retries ran out),
   * PATH_NOT_FOUND (a missing certDir).
   */
  static async connect(options: RegistryClientOptions): Promise<RegistryClient> {
    const registry = normalizeRegistry(options.registry)
    const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry }
    const tls = await loadTlsOptions(registry, { certDir: options.certDir, tlsVerify: options.tlsVerify })
    const bodyTimeout = options.bodyTimeoutMs ?? defaultBodyTimeoutMs
    const dispatcher = new Agent({
      connections: options.connections ?? defaultConnections,
      bodyTimeout,
      headersTimeout: bodyTimeout,
      connect: { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) },
    })
    const context: RequestContext = { dispatcher, policy, registry, onRetry: options.onRetry }
    const auth = new RegistryAuth({ context, credentials: options.credentials, credentialSource: options.credentialSource, credentialHelper: options.credentialHelper })
    const endpoint = registryEndpoint(registry)
    const plainAllowed = isLoopbackRegistry(registry) || options.tlsVerify === false
    try {
      const https = new URL(`https://${endpoint}`)
      if (plainAllowed) {
        // One https try, its transport failures not retried: a peer that does not speak TLS (or is not
        // there) means plain http; a refused certificate or any HTTP answer means https, as docker does.
        try {
          await RegistryClient.ping(context, https, auth, false)
          return new RegistryClient(registry, https, context, auth)
        } catch (error) {
          if (isNotTls(error)) {
            const http = new URL(`http://${endpoint}`)
            await RegistryClient.ping(context, http, auth)
            return new RegistryClient(registry, http, context, auth)
          }
          if (error instanceof ZregError || isCertificateError(error)) throw error
        }
      }
      await RegistryClient.ping(context, https, auth)
      return new RegistryClient(registry, https, context, auth)
    } catch (error) {
      await dispatcher.close()
      throw error
    }
  }

  private static async ping(context: RequestContext, base: URL, auth: RegistryAuth, retryTransport = true): Promise<void> {
    const url = new URL('/v2/', base)
    await sendRequest(context, { url, method: 'GET', headers: {}, retryTransport, retryRefused: false }, async (response) => {
      const words = await readErrorBody(response)
      if (response.statusCode === 401) auth.learn(response.headers['www-authenticate'])
      else if (response.statusCode !== 200) {
        throw new ZregError('REMOTE_INVALID', `${context.registry} is not a registry: GET ${url.href} answered ${response.statusCode}${words ? ` (${words})` : ''}, where a registry answers 200 or 401`)
      }
    })
  }

  /** How many token requests went out, per scope (`repository:<name>:pull`). */
  get tokenRequests(): ReadonlyMap<string, number> {
    return this.auth.tokenRequests
  }

  /**
   * One exchange about `repository`: auth answered (one fresh try after a 401), redirects followed
   * (Authorization only to the registry's origin), retries through sendRequest. `onOk` reads a response
   * whose status is in `ok`; other statuses come back as a Refusal, 401/403 as REMOTE_UNAUTHORIZED.
   */
  private async exchange<T>(
    request: { method: OutgoingRequest['method']; url: URL; repository?: string; headers?: Record<string, string>; body?: OutgoingRequest['body']; retryTransport?: boolean; ok: number[] },
    onOk: (response: HttpResponse, url: URL) => Promise<T>,
  ): Promise<Outcome<T>> {
    let url = request.url
    let method = request.method
    let retriedAuth = false
    for (let redirects = 0; ; ) {
      const ownOrigin = url.origin === this.base.origin
      const authorization = ownOrigin ? await this.auth.authorization(request.repository) : undefined
      const headers = { ...request.headers, ...(authorization ? { authorization } : {}) }
      const here = url
      const outgoing: OutgoingRequest = { url, method, headers, ...(request.body ? { body: request.body } : {}), ...(request.retryTransport === false ? { retryTransport: false } : {}) }
      const outcome: Outcome<T> = await sendRequest(this.context, outgoing, async (response) => {
        if (request.ok.includes(response.statusCode)) return { ok: await onOk(response, here) }
        if (response.statusCode === 416) {
          // distribution 2.8 announces the blob's length for its short 416 body: reading it would stall.
          discardBody(response.body)
          return { refusal: { status: 416, headers: response.headers, words: '' } }
        }
        return { refusal: { status: response.statusCode, headers: response.headers, words: await readErrorBody(response) } }
      })
      if ('ok' in outcome) return outcome
      const { refusal } = outcome
      const location = header(refusal, 'location')
      if (redirectStatuses.has(refusal.status) && location !== undefined) {
        if (++redirects > maxRedirects) throw new ZregError('REMOTE_INVALID', `${request.method} ${request.url.href}: more than ${maxRedirects} redirects`)
        const target = URL.canParse(location, url.href) ? new URL(location, url) : undefined
        if (target === undefined || (target.protocol !== 'https:' && target.protocol !== 'http:')) {
          throw new ZregError('REMOTE_INVALID', `${request.method} ${url.href} redirected to "${location}", which is not an http(s) URL`)
        }
        url = target
        if (refusal.status === 303 && method !== 'HEAD') method = 'GET'
        continue
      }
      if ((refusal.status === 401 || refusal.status === 403) && ownOrigin) {
        const canAnswer = refusal.status === 401 && this.auth.learn(refusal.headers['www-authenticate'], request.repository)
        // A token may have expired or lack the scope: one fresh try; a refused Basic login stays refused.
        if (canAnswer && !retriedAuth && !(this.auth.isBasic && (authorization !== undefined || !this.auth.hasCredentials))) {
          retriedAuth = true
          if (authorization?.startsWith('Bearer ')) this.auth.invalidate(request.repository)
          continue
        }
        throw this.auth.refused(request.repository, refusal.status, refusal.words)
      }
      return outcome
    }
  }

  private url(repository: string, kind: 'manifests' | 'blobs' | 'tags' | 'referrers', reference: string): URL {
    return new URL(`/v2/${repository}/${kind}/${reference}`, this.base)
  }

  private describe(repository: string, reference: string): string {
    return `docker://${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`
  }

  /** REMOTE_INVALID for an answer the distribution-spec does not allow. */
  private unexpected(what: string, refusal: Refusal): ZregError {
    return new ZregError('REMOTE_INVALID', `${what}: the registry ${this.registry} answered ${refusal.status}${refusal.words ? ` (${refusal.words})` : ''}`)
  }

  /**
   * HEAD /v2/<name>/manifests/<reference> (distribution-spec "Checking if content exists") with the
   * manifest Accept list. undefined on 404; digest undefined when the registry sends no valid
   * Docker-Content-Digest. size from Content-Length (bytes; 0 when the registry sends none).
   */
  async manifestHead(repository: string, reference: string): Promise<{ digest?: Digest; mediaType: string; size: number } | undefined> {
    const outcome = await this.exchange({ method: 'HEAD', url: this.url(repository, 'manifests', reference), repository, headers: { accept: manifestAccept }, ok: [200] }, async (response) => {
      await response.body.dump()
      const digest = header(response, 'docker-content-digest')
      return {
        ...(digest !== undefined && isDigest(digest) ? { digest } : {}),
        mediaType: mediaTypeOf(header(response, 'content-type')) ?? MediaTypes.OciManifest,
        size: /^\d+$/.test(header(response, 'content-length') ?? '') ? Number(header(response, 'content-length')) : 0,
      }
    })
    if ('ok' in outcome) return outcome.ok
    if (outcome.refusal.status === 404) return undefined
    throw this.unexpected(`HEAD ${this.describe(repository, reference)}`, outcome.refusal)
  }

  /**
   * GET /v2/<name>/manifests/<reference> (distribution-spec "Pulling manifests"), at most 4 MiB
   * (MANIFEST_TOO_LARGE). The digest is computed from the bytes (with the reference's algorithm when it
   * is a digest); a mismatch with the reference or with Docker-Content-Digest is DIGEST_INVALID.
   * mediaType from Content-Type, else the manifest's own mediaType field. 404 -> SOURCE_NOT_FOUND.
   */
  async manifestGet(repository: string, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }> {
    const name = this.describe(repository, reference)
    const outcome = await this.exchange({ method: 'GET', url: this.url(repository, 'manifests', reference), repository, headers: { accept: manifestAccept }, ok: [200] }, async (response) => {
      const length = Number(header(response, 'content-length') ?? 0)
      if (length > maxManifestBytes) {
        discardBody(response.body)
        throw new ZregError('MANIFEST_TOO_LARGE', `${name}: the manifest is ${length} bytes, over the ${maxManifestBytes}-byte limit`)
      }
      const bytes = await readManifestBytes(response.body as AsyncIterable<Buffer>, `${name}: the manifest`)
      return { bytes, contentType: mediaTypeOf(header(response, 'content-type')), sentDigest: header(response, 'docker-content-digest') }
    })
    if (!('ok' in outcome)) {
      if (outcome.refusal.status === 404) throw new ZregError('SOURCE_NOT_FOUND', `${name} not found${outcome.refusal.words ? ` (${outcome.refusal.words})` : ''}`)
      throw this.unexpected(`GET ${name}`, outcome.refusal)
    }
    const { bytes, contentType, sentDigest } = outcome.ok
    const algorithm = isDigest(reference) ? digestAlgorithm(reference) : 'sha256'
    const digest = digestOf(bytes, algorithm)
    if (isDigest(reference) && digest !== reference) {
      throw new ZregError('DIGEST_INVALID', `${name}: the registry sent a manifest whose digest is ${digest}`)
    }
    if (sentDigest !== undefined && isDigest(sentDigest) && digestAlgorithm(sentDigest) === algorithm && sentDigest !== digest) {
      throw new ZregError('DIGEST_INVALID', `${name}: the manifest's bytes hash to ${digest}, but the registry's Docker-Content-Digest says ${sentDigest}`)
    }
    return { bytes, mediaType: manifestMediaType(bytes, contentType), digest }
  }

  /**
   * GET /v2/<name>/blobs/<digest> (distribution-spec "Pulling blobs") as a stream of exactly `size` bytes.
   * Follows redirects (307 to a CDN or object store), sending Authorization only to the registry's own
   * origin. When the connection breaks mid-body the stream resumes with `Range: bytes=N-` (206 checked;
   * a 200 answer is skipped up to N) within the retry budget. It does NOT verify the digest (the store's
   * blobPut does as the bytes stream in); it errors SIZE_INVALID when the body is longer or shorter than
   * `size` and cannot be resumed. 404 -> SOURCE_NOT_FOUND.
   */
  async blobOpen(repository: string, digest: Digest, size: number): Promise<Readable> {
    const url = this.url(repository, 'blobs', digest)
    const what = `docker://${this.registry}/${repository}@${digest}`
    const open = async (offset: number): Promise<ResumedBody> => {
      const outcome = await this.exchange({ method: 'GET', url, repository, headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, ok: [200, 206] }, async (response) => {
        if (response.statusCode === 200) {
          const length = header(response, 'content-length')
          if (length !== undefined && Number(length) !== size) {
            discardBody(response.body)
            throw new ZregError('SIZE_INVALID', `${what}: the registry sends ${length} bytes for a blob whose descriptor gives ${size}`)
          }
          return { response, skip: offset }
        }
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(response, 'content-range') ?? '')
        if (offset === 0 || range === null || Number(range[1]) !== offset) {
          discardBody(response.body)
          throw new ZregError('REMOTE_INVALID', `${what}: asked for bytes ${offset}- and the registry answered 206 with Content-Range "${header(response, 'content-range') ?? ''}"`)
        }
        if (range[3] !== '*' && Number(range[3]) !== size) {
          discardBody(response.body)
          throw new ZregError('SIZE_INVALID', `${what}: the registry has ${range[3]} bytes of a blob whose descriptor gives ${size}`)
        }
        return { response, skip: 0 }
      })
      if ('ok' in outcome) return outcome.ok
      if (outcome.refusal.status === 404) throw new ZregError('SOURCE_NOT_FOUND', `${what} not found${outcome.refusal.words ? ` (${outcome.refusal.words})` : ''}`)
      if (outcome.refusal.status === 416) {
        const total = /^bytes \*\/(\d+)$/.exec(header(outcome.refusal, 'content-range') ?? '')?.[1]
        throw new ZregError('SIZE_INVALID', `${what}: the registry has no bytes from ${offset} on${total === undefined ? '' : ` (it has ${total})`}, where the descriptor gives ${size}`)
      }
      throw this.unexpected(`GET ${what}`, outcome.refusal)
    }
    const first = await open(0)
    return resumableBlob(first.response, { size, url: url.href, what, policy: this.context.policy, reopen: open, onRetry: this.context.onRetry })
  }

  /**
   * GET /v2/<name>/tags/list (distribution-spec "Listing tags"), following `Link: <...>; rel="next"`
   * pages; `pageSize` asks for pages of n tags. 404 -> SOURCE_NOT_FOUND.
   */
  async tagList(repository: string, options: { pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = []
    const seen = new Set<string>()
    let url: URL | undefined = this.url(repository, 'tags', 'list')
    if (options.pageSize !== undefined) url.searchParams.set('n', String(options.pageSize))
    while (url !== undefined) {
      if (seen.has(url.href)) throw new ZregError('REMOTE_INVALID', `docker://${this.registry}/${repository}: the tag list pages loop back to ${url.href}`)
      seen.add(url.href)
      const outcome: Outcome<{ page: string[]; next?: URL }> = await this.exchange({ method: 'GET', url, repository, headers: { accept: 'application/json' }, ok: [200] }, async (response, at) => {
        const body = await readJson(response, `docker://${this.registry}/${repository}: the tag list`)
        const page = (body as { tags?: unknown }).tags ?? []
        if (!Array.isArray(page) || page.some((tag) => typeof tag !== 'string')) throw new ZregError('REMOTE_INVALID', `docker://${this.registry}/${repository}: the tag list's "tags" is not a list of strings`)
        const link = nextLink(response.headers.link)
        return { page: page as string[], ...(link === undefined ? {} : { next: new URL(link, at) }) }
      })
      if (!('ok' in outcome)) {
        if (outcome.refusal.status === 404) throw new ZregError('SOURCE_NOT_FOUND', `docker://${this.registry}/${repository} not found${outcome.refusal.words ? ` (${outcome.refusal.words})` : ''}`)
        throw this.unexpected(`GET ${url.href}`, outcome.refusal)
      }
      tags.push(...outcome.ok.page)
      url = outcome.ok.next
    }
    return tags
  }

  /**
   * GET /v2/<name>/referrers/<digest> (distribution-spec "Listing referrers"): the descriptors of the
   * image index it answers, over every `Link` page; undefined when the registry has no referrers API
   * (a 404: the spec says clients then use the `<alg>-<hex>` tag schema).
   */
  async referrers(repository: string, digest: Digest): Promise<Descriptor[] | undefined> {
    const what = `docker://${this.registry}/${repository}@${digest}: the referrers list`
    const descriptors: Descriptor[] = []
    const seen = new Set<string>()
    let url: URL | undefined = this.url(repository, 'referrers', digest)
    while (url !== undefined) {
      if (seen.has(url.href)) throw new ZregError('REMOTE_INVALID', `${what}: its pages loop back to ${url.href}`)
      seen.add(url.href)
      const outcome: Outcome<{ page: Descriptor[]; next?: URL }> = await this.exchange({ method: 'GET', url, repository, headers: { accept: MediaTypes.OciIndex }, ok: [200] }, async (response, at) => {
        const body = await readJson(response, what)
        const manifests = (body as { manifests?: unknown }).manifests ?? []
        if (!Array.isArray(manifests) || !manifests.every(isDescriptor)) throw new ZregError('REMOTE_INVALID', `${what}: "manifests" is not a list of descriptors`)
        const link = nextLink(response.headers.link)
        return { page: manifests, ...(link === undefined ? {} : { next: new URL(link, at) }) }
      })
      if (!('ok' in outcome)) {
        if (outcome.refusal.status === 404 && descriptors.length === 0 && seen.size === 1) return undefined
        throw this.unexpected(`GET ${url.href}`, outcome.refusal)
      }
      descriptors.push(...outcome.ok.page)
      url = outcome.ok.next
    }
    return descriptors
  }

  /** HEAD /v2/<name>/blobs/<digest> (distribution-spec "Checking if content exists"): whether the repository has the blob. */
  async blobExists(repository: string, digest: Digest): Promise<boolean> {
    const outcome = await this.exchange({ method: 'HEAD', url: this.url(repository, 'blobs', digest), repository, ok: [200] }, async (response) => {
      await response.body.dump()
      return true
    })
    if ('ok' in outcome) return true
    if (outcome.refusal.status === 404) return false
    throw this.unexpected(`HEAD docker://${this.registry}/${repository}@${digest}`, outcome.refusal)
  }

  /**
   * POST /v2/<name>/blobs/uploads/ (distribution-spec "Pushing blobs"), with `mount` and `from` a
   * cross-repository mount: `mounted` when the registry mounted the blob (201), else the upload
   * session's URL (202; a registry that cannot mount starts an upload instead, as the spec says).
   */
  async blobUploadStart(repository: string, mount?: { digest: Digest; from: string }): Promise<{ mounted: true } | { location: URL }> {
    const url = new URL(`/v2/${repository}/blobs/uploads/`, this.base)
    if (mount !== undefined) {
      url.searchParams.set('mount', mount.digest)
      url.searchParams.set('from', mount.from)
    }
    const outcome = await this.exchange({ method: 'POST', url, repository, headers: { 'content-length': '0' }, ok: [201, 202] }, async (response, at) => {
      await response.body.dump()
      if (response.statusCode === 201) return { mounted: true as const }
      const location = header(response, 'location')
      if (location === undefined) throw new ZregError('REMOTE_INVALID', `POST ${url.href}: the registry started an upload without a Location`)
      return { location: new URL(location, at) }
    })
    if ('ok' in outcome) return outcome.ok
    throw this.unexpected(`POST ${url.href}`, outcome.refusal)
  }

  /**
   * PATCH one chunk of an upload (`start` is where it stands; Content-Range as the spec's chunked
   * upload wants), or with `digest` the PUT that closes it (with the last bytes, or none). Returns the
   * session's next URL. A transport failure is not retried: the registry may hold part of the chunk.
   */
  async blobUploadSend(location: URL, repository: string, chunk: { body: () => Readable | Buffer; start: number; length: number }, digest?: Digest): Promise<URL> {
    const url = new URL(location)
    if (digest !== undefined) url.searchParams.set('digest', digest)
    const headers: Record<string, string> = { 'content-type': MediaTypes.OctetStream, 'content-length': String(chunk.length) }
    if (digest === undefined) headers['content-range'] = `${chunk.start}-${chunk.start + chunk.length - 1}`
    const method = digest === undefined ? 'PATCH' : 'PUT'
    const outcome = await this.exchange({ method, url, repository, headers, body: chunk.body, retryTransport: false, ok: digest === undefined ? [202] : [201] }, async (response, at) => {
      await response.body.dump()
      const next = header(response, 'location')
      return next === undefined ? location : new URL(next, at)
    })
    if ('ok' in outcome) return outcome.ok
    throw this.unexpected(`${method} ${url.origin}${url.pathname} (${digest ?? `bytes ${chunk.start}-`})`, outcome.refusal)
  }

  /** PUT /v2/<name>/manifests/<reference> (distribution-spec "Pushing manifests") with its media type. */
  async manifestPut(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const url = this.url(repository, 'manifests', reference)
    const outcome = await this.exchange({ method: 'PUT', url, repository, headers: { 'content-type': mediaType }, body: () => bytes, ok: [201] }, async (response) => {
      await response.body.dump()
    })
    if (!('ok' in outcome)) throw this.unexpected(`PUT ${this.describe(repository, reference)}`, outcome.refusal)
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await (this.context.dispatcher as Agent).close()
  }
}

function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null
  return typeof d === 'object' && d !== null && typeof d.mediaType === 'string' && typeof d.digest === 'string' && isDigest(d.digest) && typeof d.size === 'number' && Number.isSafeInteger(d.size) && d.size >= 0
}

/** A small JSON body (tag lists, referrers), under the manifest limit. */
async function readJson(response: HttpResponse, what: string): Promise<unknown> {
  const bytes = await readManifestBytes(response.body as AsyncIterable<Buffer>, what)
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'))
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object')
    return parsed
  } catch (error) {
    throw new ZregError('REMOTE_INVALID', `${what} is not a JSON object: ${(error as Error).message}`, { cause: error })
  }
}

/** A manifest's media type: the Content-Type when it names a manifest, else the body's own mediaType. */
function manifestMediaType(bytes: Buffer, contentType: string | undefined): string {
  if (contentType !== undefined && contentType !== MediaTypes.Json && contentType !== 'text/plain' && contentType !== MediaTypes.OctetStream) return contentType
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown }
    if (typeof json.mediaType === 'string') return json.mediaType
    return Array.isArray(json.manifests) ? MediaTypes.OciIndex : MediaTypes.OciManifest
  } catch {
    return contentType ?? MediaTypes.OciManifest
  }
}
