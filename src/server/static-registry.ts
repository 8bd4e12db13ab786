import type { IncomingMessage, ServerResponse } from 'node:http'
import { isDigest } from '../oci/digest.js'
import { isIndex, MediaTypes } from '../oci/media-types.js'
import { isRepository, isTag } from '../oci/reference.js'
import { ZregError } from '../errors.js'
import { acceptsMediaType, matchesIfNoneMatch } from './accept.js'
import { toOciResponse } from './oci-error-response.js'
import { sendFile, type SmallFileCache } from './send-file.js'
import { liveGeneration, loadSite, siteExamples, siteFile, type LoadedSite, type SiteFile } from './site-reader.js'

const routePattern = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/([^/]+)$/
const jsonContentType = 'application/json; charset=utf-8'
const emptyReferrers = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] })

function sendJson(res: ServerResponse, status: number, body: string, contentType: string = jsonContentType): void {
  res.statusCode = status
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

/** The request path without its query string, percent-decoded; undefined when it does not decode. */
function requestPath(url: string | undefined): string | undefined {
  const raw = url ?? '/'
  const query = raw.indexOf('?')
  const path = query < 0 ? raw : raw.slice(0, query)
  try {
    return path.includes('%') ? decodeURIComponent(path) : path
  } catch {
    return undefined
  }
}

/**
 * The read half of the distribution-spec over a built tree. Only paths the build recorded are served,
 * so `..`, encoded traversal and stray symlinks never reach the file system. A new generation swapped
 * in by `zreg build` is picked up without a restart.
 */
export class StaticRegistry {
  private site: LoadedSite
  private cache: SmallFileCache = new Map()
  private refreshing: Promise<void> | undefined

  private constructor(
    private readonly out: string,
    site: LoadedSite,
  ) {
    this.site = site
  }

  static async open(out: string): Promise<StaticRegistry> {
    return new StaticRegistry(out, await loadSite(out))
  }

  get generation(): string {
    return this.site.generation
  }

  /** A few `repo:tag` names this registry serves. */
  examples(count: number): string[] {
    return siteExamples(this.site, count)
  }

  /** Loads the live generation if a build swapped in a new one; the old one serves until then. */
  async refresh(): Promise<boolean> {
    if (this.refreshing) {
      await this.refreshing
      return false
    }
    let changed = false
    this.refreshing = (async () => {
      if ((await liveGeneration(this.out)) === this.site.generation) return
      this.site = await loadSite(this.out)
      this.cache = new Map()
      changed = true
    })()
    try {
      await this.refreshing
    } finally {
      this.refreshing = undefined
    }
    return changed
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => toOciResponse(res, error))
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      throw new ZregError('UNSUPPORTED', `${req.method ?? 'this method'} is not supported: this registry is read-only`)
    }
    const path = requestPath(req.url)
    if (path === undefined) throw new ZregError('NAME_INVALID', 'the request path is not valid percent-encoding')
    if (path === '/v2/' || path === '/v2') return sendJson(res, 200, '{}')
    if (path === '/v2/_catalog') return this.send(req, res, this.rootFile('v2/_catalog'))
    const match = routePattern.exec(path)
    if (!match) throw new ZregError('NAME_UNKNOWN', `no registry route for ${path}`, { detail: { path } })
    const [, name, kind, reference] = match as unknown as [string, string, string, string]
    // Like distribution: a manifest or blob of an unknown repository is simply unknown (404).
    const known = isRepository(name) && this.site.repositories.has(name)
    if (!known && (kind === 'tags' || kind === 'referrers')) {
      throw new ZregError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name } })
    }
    switch (kind) {
      case 'tags':
        if (reference !== 'list') throw new ZregError('NAME_UNKNOWN', `no registry route for ${path}`, { detail: { path } })
        return this.send(req, res, siteFile(this.site, name, 'tags/list'))
      case 'blobs':
        return this.sendBlob(req, res, isDigest(reference) ? siteFile(this.site, name, `blobs/${reference}`) : undefined, reference)
      case 'referrers': {
        if (!isDigest(reference)) throw new ZregError('DIGEST_INVALID', `"${reference}" is not a digest`)
        const file = siteFile(this.site, name, `referrers/${reference}`)
        // Every digest has a (possibly empty) referrers list, as the distribution-spec requires.
        return file ? this.send(req, res, file) : sendJson(res, 200, emptyReferrers, MediaTypes.OciIndex)
      }
      default:
        return this.sendManifest(req, res, name, reference)
    }
  }

  private rootFile(path: string): SiteFile | undefined {
    const headers = this.site.rootFiles.get(path)
    return headers ? { path: `${this.site.meta}/${path}`, headers } : undefined
  }

  private async sendManifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    let file = isDigest(reference) || isTag(reference) ? siteFile(this.site, name, `manifests/${reference}`) : undefined
    const fallback = file?.headers.platformFallback
    // Old clients that accept no index get the default platform's manifest, as distribution does.
    if (file && fallback !== undefined && isIndex(file.headers.contentType)) {
      // What this URL answers depends on Accept: caches in front (a CDN) must keep the answers apart.
      res.setHeader('Vary', 'Accept')
      if (!acceptsMediaType(req.headers.accept, file.headers.contentType)) file = fallback === null ? undefined : siteFile(this.site, name, fallback)
    }
    if (!file) {
      throw new ZregError('MANIFEST_UNKNOWN', 'manifest unknown', { detail: isDigest(reference) ? { Digest: reference } : { Tag: reference } })
    }
    return this.send(req, res, file)
  }

  private async sendBlob(req: IncomingMessage, res: ServerResponse, file: SiteFile | undefined, digest: string): Promise<void> {
    if (!file) throw new ZregError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: digest })
    return this.send(req, res, file)
  }

  private async send(req: IncomingMessage, res: ServerResponse, file: SiteFile | undefined): Promise<void> {
    if (!file) throw new ZregError('NAME_UNKNOWN', 'not found')
    const digest = file.headers.digest
    if (digest !== undefined) {
      res.setHeader('Docker-Content-Digest', digest)
      res.setHeader('ETag', `"${digest}"`)
      if (matchesIfNoneMatch(req.headers['if-none-match'], `"${digest}"`)) {
        res.statusCode = 304
        res.end()
        return
      }
    }
    await sendFile(req, res, file, this.cache)
  }
}
