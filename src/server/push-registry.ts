import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { digestOf, isDigest, type Digest } from '../oci/digest.js'
import { isImageConfig, maxManifestBytes, parseImageConfig, parseManifest, readManifestBytes, referencedDescriptors, subjectOf } from '../oci/manifest.js'
import { isDistributable, isManifest } from '../oci/media-types.js'
import { defaultPlatform, type Platform } from '../oci/platform.js'
import { checkRepository, checkTag, isRepository } from '../oci/reference.js'
import { BlobLinks } from '../store/blob-links.js'
import { matching, removeManifest } from '../store/ref-edits.js'
import type { LayoutStore } from '../store/layout-store.js'
import type { StoreStack } from '../store/store-stack.js'
import type { BlobReader, StoredRef } from '../store/store.js'
import { toOciResponse } from './oci-error-response.js'
import type { AccessControl } from './auth/access-control.js'
import { guardRequest } from './auth/route-access.js'
import { mirrorPath } from './mirror-request.js'
import { requestPath, requestQuery, serveRead } from './read-routes.js'
import type { SmallFileCache } from './send-file.js'
import { StoreView, type ViewedStore } from './store-view.js'
import type { Notifier } from './notifier.js'
import type { TreeRebuilder } from './tree-rebuilder.js'
import { UploadSessions, type UploadSession } from './upload-sessions.js'

const uploadPattern = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/
const writePattern = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/

export interface PushRegistryOptions {
  /** Rebuilds the static tree after each accepted manifest (absent: the store only). */
  rebuilder?: TreeRebuilder
  defaultPlatform?: Platform
  /** Upload requests (POST, PATCH, PUT) that may run at once; more get 503 with Retry-After (default 64). */
  maxUploads?: number
  /**
   * The first path component names the upstream registry (`/v2/docker.io/library/alpine`), and each
   * namespace is separate: no mounts across namespaces, and a blob uploaded into one is not seen in another.
   */
  namespaced?: boolean
  /** Who may pull and push (absent: anyone may do anything, as a dev registry). */
  access?: AccessControl
  /**
   * A stack whose top is the store written (store-stack.ts): reads see the whole stack, and a manifest
   * may name blobs a lower store holds (Zuul's buildset registry over a mirror). Absent: the store alone.
   */
  reads?: StoreStack
}

/** The namespace of a repository in namespaced mode: its first component, which must look like a registry host. */
export function namespaceOf(name: string): string {
  const slash = name.indexOf('/')
  const first = slash < 0 ? '' : name.slice(0, slash)
  // `localhost-5000` is how a registry with a port heads a name (oci/reference.ts registryComponent).
  if (first === '' || !(first.includes('.') || first === 'localhost' || /^localhost-\d+$/.test(first))) {
    throw new ZregError('NAME_INVALID', `"${name}" names no upstream registry: in namespaced mode repositories look like docker.io/library/alpine`)
  }
  return first
}

/** Seconds a client told to wait (503) should wait before retrying. */
const retryAfterSeconds = 1

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
}

/**
 * The chunk a request says it carries, from `Content-Range: <start>-<end>` (a `bytes=` prefix tolerated):
 * its start and length. As distribution does: an end before the start is RANGE_INVALID (416), and a
 * Content-Length that is not the range's length is refused before a byte is read.
 */
function chunkRange(req: IncomingMessage): { start: number; length: number } | undefined {
  const header = req.headers['content-range']
  if (header === undefined) return undefined
  const match = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(header.trim())
  if (!match) throw new ZregError('BLOB_UPLOAD_INVALID', `invalid Content-Range "${header}"; a chunk says which bytes it carries as <start>-<end>`)
  const start = Number(match[1])
  const end = Number(match[2])
  if (end < start) throw new ZregError('RANGE_INVALID', `Content-Range "${header}" ends before it starts`)
  const length = end - start + 1
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) !== length) {
    throw new ZregError('BODY_SIZE_INVALID', `Content-Range "${header}" is ${length} bytes, but Content-Length says ${declared}`, { detail: { range: header, contentLength: Number(declared) } })
  }
  return { start, length }
}

function parseDigestParameter(value: string | null): Digest {
  if (value === null || !isDigest(value)) throw new ZregError('DIGEST_INVALID', `the upload needs ?digest=<algorithm:hex>, got "${value ?? ''}"`)
  return value
}

function empty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('Content-Length', 0)
  res.end()
}

/**
 * Push (dev) mode: the whole distribution-spec API over the store. Reads are served from the store
 * itself; uploads land in the store (each in its own session, published by rename once verified) and
 * every accepted manifest rebuilds the static tree before the client hears 201.
 */
export class PushRegistry {
  readonly uploads: UploadSessions
  /** Told of pushes, tags and deletes (webhooks). */
  notifier: Notifier | undefined
  private readonly view: StoreView
  private readonly cache: SmallFileCache = new Map()
  private uploadsRunning = 0
  private readonly links: BlobLinks
  /** What reads see: the store, or the stack it tops. */
  private readonly reads: ViewedStore & BlobReader

  constructor(
    private readonly store: LayoutStore,
    private readonly options: PushRegistryOptions = {},
  ) {
    if (options.reads !== undefined && options.reads.top !== store) throw new Error('push mode writes into the top store of the stack it reads')
    this.reads = options.reads ?? store
    this.uploads = new UploadSessions(store)
    this.links = new BlobLinks(store.location)
    this.view = new StoreView(this.reads, { defaultPlatform: options.defaultPlatform ?? defaultPlatform }, this.links, () => options.rebuilder?.page())
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
    this.route(req, res).catch((error: unknown) => {
      // A refused request may leave its body unread; drop it rather than read it for nothing.
      if (!req.complete) res.setHeader('Connection', 'close')
      toOciResponse(res, error)
    })
  }

  /** A valid repository name (with its namespace, in namespaced mode). */
  private checkName(name: string): string {
    checkRepository(name)
    if (this.options.namespaced) namespaceOf(name)
    return name
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url)
    if (path === undefined) throw new ZregError('NAME_INVALID', 'the request path is not valid percent-encoding')
    if (path === '/token' && this.options.access) {
      if (req.method !== 'GET') throw new ZregError('UNSUPPORTED', 'the token endpoint answers GET')
      return this.options.access.issueToken(req, res, requestQuery(req.url))
    }
    // A containerd mirror request (`?ns=`) reads the repository it resolves to, and is authorized for that one.
    let mirrored: string | undefined
    const query = requestQuery(req.url)
    if ((req.method === 'GET' || req.method === 'HEAD') && query.has('ns')) {
      const view = await this.view.refresh()
      mirrored = mirrorPath(path, query, (name) => view.hasRepository(name))
    }
    const target = mirrored ?? path
    // Checked against the authorization table (route-access.ts) before anything else happens.
    const guarded = this.options.access === undefined ? {} : await guardRequest(this.options.access, req, res, target)
    const upload = uploadPattern.exec(target)
    if (upload) return this.limitUploads(req, res, () => this.routeUpload(req, res, this.checkName(upload[1]!), upload[2]!))
    const write = writePattern.exec(target)
    if (write) {
      const [, name, kind, reference] = write as unknown as [string, string, string, string]
      if (req.method === 'PUT' || req.method === 'DELETE') {
        this.checkName(name)
        if (kind === 'manifests') return req.method === 'PUT' ? this.putManifest(req, res, name, reference) : this.deleteManifest(req, res, name, reference)
        if (req.method === 'DELETE') return this.deleteBlob(req, res, name, reference)
      } else if (this.options.namespaced && mirrored === undefined) {
        namespaceOf(name)
      }
    }
    // A push changes tags at once: caches in front revalidate them (cacheMaxAge 0); digests stay immutable.
    if (await serveRead(req, res, await this.view.refresh(), this.cache, { path: target, cacheMaxAge: 0, ...guarded })) return
    res.setHeader('Allow', 'GET, HEAD, PUT, PATCH, POST, DELETE')
    throw new ZregError('UNSUPPORTED', `${req.method ?? 'this method'} ${path} is not part of the registry API`)
  }

  /** Refuses an upload request past the limit with 503 and Retry-After, rather than falling over. */
  private async limitUploads(req: IncomingMessage, res: ServerResponse, work: () => Promise<void>): Promise<void> {
    if (req.method === 'GET' || req.method === 'DELETE') return work()
    if (this.uploadsRunning >= (this.options.maxUploads ?? 64)) {
      res.setHeader('Retry-After', String(retryAfterSeconds))
      throw new ZregError('TOO_MANY_UPLOADS', `${this.uploadsRunning} uploads are running; retry in ${retryAfterSeconds} s`)
    }
    this.uploadsRunning++
    try {
      await work()
    } finally {
      this.uploadsRunning--
    }
  }

  private async routeUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    if (id === '') {
      if (req.method !== 'POST') throw new ZregError('UNSUPPORTED', 'start an upload with POST')
      return this.startUpload(req, res, name)
    }
    const session = await this.uploads.get(id, name)
    try {
      await this.routeSession(req, res, name, session)
    } catch (error) {
      // A client resumes from the Range a refused chunk is answered with.
      if (error instanceof ZregError && error.code === 'RANGE_INVALID') {
        for (const [header, value] of Object.entries(this.sessionHeaders(session, await this.uploads.offset(session)))) res.setHeader(header, value)
      }
      throw error
    }
  }

  private async routeSession(req: IncomingMessage, res: ServerResponse, name: string, session: UploadSession): Promise<void> {
    switch (req.method) {
      case 'PATCH': {
        const size = await this.uploads.append(session, req, chunkRange(req))
        return empty(res, 202, this.sessionHeaders(session, size))
      }
      case 'PUT': {
        const digest = parseDigestParameter(requestQuery(req.url).get('digest'))
        if (hasBody(req)) await this.uploads.append(session, req, chunkRange(req))
        else req.resume()
        return this.finished(res, name, (await this.uploads.finish(session, digest, () => this.hold(name, digest))).digest)
      }
      case 'GET':
        return empty(res, 204, this.sessionHeaders(session, await this.uploads.offset(session)))
      case 'DELETE':
        await this.uploads.cancel(session)
        return empty(res, 204, {})
      default:
        throw new ZregError('UNSUPPORTED', `${req.method ?? 'this method'} is not an upload operation`)
    }
  }

  private sessionHeaders(session: UploadSession, size: number): Record<string, string> {
    return {
      Location: `/v2/${session.repository}/blobs/uploads/${session.id}`,
      Range: `0-${Math.max(size - 1, 0)}`,
      'Docker-Upload-UUID': session.id,
    }
  }

  /**
   * The repository holds the blob from now on (readable, mountable, referable there). Linked before an
   * upload's bytes are published, so `zreg gc` (which keeps what links name) never finds them held by nothing.
   */
  private hold(name: string, digest: Digest): Promise<void> {
    return this.links.add(name, digest, this.options.namespaced ? namespaceOf(name) : undefined)
  }

  /** A blob is in (uploaded, or mounted). */
  private async finished(res: ServerResponse, name: string, digest: Digest): Promise<void> {
    await this.hold(name, digest)
    empty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest })
  }

  /**
   * Whether a mount of `digest` into `name` succeeds. From `from`: the blob must be held there, in the
   * same namespace, and the caller must be allowed to read it. Without `from`: any stored blob (of the
   * namespace, in namespaced mode), but only with no access control, where knowing a digest grants nothing.
   */
  private async mountable(req: IncomingMessage, name: string, digest: Digest, from: string | null): Promise<boolean> {
    const view = await this.view.refresh()
    if (from !== null) {
      if (!isRepository(from)) return false
      if (this.options.namespaced && from.split('/')[0] !== namespaceOf(name)) return false
      if (this.options.access && !(await this.options.access.allows(req, from, 'pull'))) return false
      return view.holds(from, digest)
    }
    if (this.options.access !== undefined || (await this.reads.blobStat(digest)) === undefined) return false
    if (!this.options.namespaced) return true
    const namespace = namespaceOf(name)
    return (await this.links.inNamespace(namespace, digest)) || (await view.blobReferenced(digest, `${namespace}/`))
  }

  private async startUpload(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const query = requestQuery(req.url)
    const mount = query.get('mount')
    // A mount that cannot be made is an ordinary upload, as in the reference registry.
    if (mount !== null && isDigest(mount) && (await this.mountable(req, name, mount, query.get('from')))) {
      req.resume()
      return this.finished(res, name, mount)
    }
    const session = await this.uploads.create(name)
    const digest = query.get('digest')
    if (digest !== null) {
      // Monolithic upload: the whole blob in the POST. Nothing is kept of one that fails: no client resumes it.
      try {
        await this.uploads.append(session, req)
      } catch (error) {
        await this.uploads.cancel(session)
        throw error
      }
      const expected = parseDigestParameter(digest)
      return this.finished(res, name, (await this.uploads.finish(session, expected, () => this.hold(name, expected))).digest)
    }
    req.resume()
    empty(res, 202, this.sessionHeaders(session, 0))
  }

  private async putManifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    // Refused before a byte is read when the client says it is too large.
    if (Number(req.headers['content-length'] ?? 0) > maxManifestBytes) throw new ZregError('MANIFEST_TOO_LARGE', `the manifest is over the ${maxManifestBytes}-byte limit`)
    // As distribution does: the Content-Type says which manifest this is, and the body must agree with it
    // (its mediaType, when present, equal; its shape valid for that type).
    const contentType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (contentType === undefined || !isManifest(contentType)) {
      const shown = contentType === undefined ? 'a missing Content-Type' : `Content-Type "${contentType}"`
      throw new ZregError('MANIFEST_INVALID', `${shown} names no manifest media type: send the manifest with Content-Type set to its mediaType`, { detail: { contentType: contentType ?? null } })
    }
    const bytes = await readManifestBytes(req as AsyncIterable<Buffer>, 'the manifest')
    const parsed = parseManifest(bytes, contentType)
    const digest = digestOf(bytes)
    const byDigest = isDigest(reference)
    if (byDigest && reference !== digest) throw new ZregError('DIGEST_INVALID', `the manifest hashes to ${digest}, not ${reference}`, { detail: { digest: reference } })
    if (!byDigest) checkTag(reference)
    const view = await this.view.refresh()
    for (const descriptor of referencedDescriptors(parsed)) {
      const size = await this.heldSize(view, name, descriptor.digest)
      if (size === undefined) {
        if (parsed.kind === 'image' && !isDistributable(descriptor.mediaType) && descriptor.urls?.length) continue
        throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${descriptor.digest} is not in ${name}; push (or mount) it there first`, { detail: { digest: descriptor.digest } })
      }
      if (size !== descriptor.size) throw new ZregError('SIZE_INVALID', `${descriptor.digest} is ${size} bytes, but the manifest says ${descriptor.size}`)
    }
    // As `zreg add` does: an image's config must satisfy the config schema too.
    if (parsed.kind === 'image' && isImageConfig(parsed.manifest.config.mediaType)) {
      parseImageConfig(await this.reads.blobBytes(parsed.manifest.config.digest, maxManifestBytes))
    }
    const descriptor = { mediaType: parsed.mediaType, digest, size: bytes.length }
    const staging = await this.store.stage()
    try {
      await staging.blobPut(Readable.from([bytes]), { digest, size: bytes.length })
      await staging.commit([byDigest ? { repository: name, descriptor } : { repository: name, tag: reference, descriptor }])
    } finally {
      await staging.abort()
    }
    await this.options.rebuilder?.rebuild()
    const target = { mediaType: parsed.mediaType, digest, size: bytes.length, repository: name }
    this.notifier?.emit('push', byDigest ? target : { ...target, tag: reference }, req)
    if (!byDigest) this.notifier?.emit('tag', { ...target, tag: reference }, req)
    const subject = subjectOf(parsed)
    empty(res, 201, {
      Location: `/v2/${name}/manifests/${digest}`,
      'Docker-Content-Digest': digest,
      ...(subject ? { 'OCI-Subject': subject.digest } : {}),
    })
  }

  /**
   * The size of a blob the repository holds, or undefined. Only what this repository holds counts: a
   * digest pushed elsewhere is no way into its bytes; a blob of a lower store of the stack counts, as the
   * top store's manifest names it by digest. A blob linked to the repository but not in place is one a
   * `zreg gc` sweep has moved aside for a moment (it puts back what links name): looked for again, for
   * up to two seconds.
   */
  private async heldSize(view: StoreView, name: string, digest: Digest): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      const size = (await view.holds(name, digest)) ? await this.reads.blobStat(digest) : undefined
      if (size !== undefined || attempt === 20 || !(await this.links.has(name, digest))) return size
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  private async deleteManifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    const target = { repository: name, reference: isDigest(reference) ? reference : checkTag(reference) }
    let doomed: StoredRef[]
    try {
      doomed = await removeManifest(this.store, target)
    } catch (error) {
      // Only the store pushes go into is written: what a lower store of the stack holds stays.
      if (error instanceof ZregError && error.code === 'MANIFEST_UNKNOWN' && this.reads !== this.store && matching(await this.reads.refList(), target).length > 0) {
        throw new ZregError('UNSUPPORTED', `${name}:${reference} is in a lower store of the stack, which push mode does not write; delete it there (or build without that store)`)
      }
      throw error
    }
    await this.options.rebuilder?.rebuild()
    const { mediaType, digest, size } = doomed[0]!.descriptor
    this.notifier?.emit('delete', { mediaType, digest, size, repository: name, ...(isDigest(reference) ? {} : { tag: reference }) }, req)
    empty(res, 202, {})
  }

  /**
   * Takes the blob out of the repository. Its bytes go when nothing else holds them: no manifest names
   * it and no other repository has it.
   */
  private async deleteBlob(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    if (!isDigest(reference)) throw new ZregError('DIGEST_INVALID', `"${reference}" is not a digest`)
    const view = await this.view.refresh()
    if (!(await view.holds(name, reference))) throw new ZregError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: reference })
    await this.links.remove(name, reference)
    const holders = await this.links.holders(reference)
    if (this.options.namespaced) {
      const namespace = `${namespaceOf(name)}/`
      const held = holders.some((holder) => holder.startsWith(namespace)) || (await view.blobReferenced(reference, namespace))
      if (!held) await this.links.removeFromNamespace(namespaceOf(name), reference)
    }
    if (holders.length === 0 && !(await view.blobReferenced(reference))) await this.store.blobDelete(reference)
    this.notifier?.emit('delete', { digest: reference, repository: name }, req)
    empty(res, 202, {})
  }
}
