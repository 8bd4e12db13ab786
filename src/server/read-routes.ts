import type { IncomingMessage, ServerResponse } from 'node:http'
import { ZregError } from '../errors.js'
import { isDigest } from '../oci/digest.js'
import { isIndex, MediaTypes } from '../oci/media-types.js'
import { isRepository, isTag } from '../oci/reference.js'
import { immutableCacheControl, mutableCacheControl } from '../build/cache-control.js'
import { pageFile } from '../build/tree-paths.js'
import { acceptsMediaType, matchesIfNoneMatch } from './accept.js'
import { readSmall, sendFile, type SmallFileCache } from './send-file.js'
import type { SiteFile } from './site-reader.js'

/** What the read routes serve from: a built tree, or (push mode) the store itself. */
export interface SiteView {
  hasRepository(name: string): boolean
  /** The file at a repository-relative path (`manifests/<ref>`, `blobs/<digest>`, `tags/list`, ...). */
  file(repository: string, path: string): SiteFile | undefined | Promise<SiteFile | undefined>
  /** A file outside repositories (`v2/_catalog`, the catalog page `index.html`). */
  rootFile(path: string): SiteFile | undefined
}

export const routePattern = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/([^/]+)$/
const jsonContentType = 'application/json; charset=utf-8'
const emptyReferrers = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] })

export function sendJson(res: ServerResponse, status: number, body: string, contentType: string = jsonContentType): void {
  res.statusCode = status
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

/** The request path without its query string, percent-decoded; undefined when it does not decode. */
export function requestPath(url: string | undefined): string | undefined {
  const raw = url ?? '/'
  const query = raw.indexOf('?')
  const path = query < 0 ? raw : raw.slice(0, query)
  try {
    return path.includes('%') ? decodeURIComponent(path) : path
  } catch {
    return undefined
  }
}

export function requestQuery(url: string | undefined): URLSearchParams {
  const raw = url ?? '/'
  const query = raw.indexOf('?')
  return new URLSearchParams(query < 0 ? '' : raw.slice(query + 1))
}

/**
 * `n` and `last` pagination of a list (tags, repositories), as distribution does: entries after `last`,
 * at most `n`, and a Link header to the next page when there is one.
 */
function paginate(res: ServerResponse, url: string | undefined, path: string, all: string[]): string[] {
  const query = requestQuery(url)
  const last = query.get('last')
  const n = query.get('n')
  let list = last === null ? all : all.filter((entry) => entry > last)
  if (n !== null) {
    const count = Number(n)
    if (!Number.isInteger(count) || count < 0) throw new ZregError('USAGE', `invalid page size n=${n}`)
    if (list.length > count && count > 0) {
      list = list.slice(0, count)
      res.setHeader('Link', `<${path}?n=${count}&last=${encodeURIComponent(list.at(-1)!)}>; rel="next"`)
    } else if (count === 0) {
      list = []
    }
  }
  return list
}

/** Sends a file with its digest headers, answering a matching If-None-Match with 304. */
async function send(req: IncomingMessage, res: ServerResponse, file: SiteFile | undefined, cache: SmallFileCache): Promise<void> {
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
  await sendFile(req, res, file, cache)
}

/** A JSON list file, paginated when the request asks for pages, and cut down to the entries `visible` keeps. */
async function sendList(req: IncomingMessage, res: ServerResponse, file: SiteFile | undefined, key: 'tags' | 'repositories', path: string, cache: SmallFileCache, visible?: (entry: string) => boolean): Promise<void> {
  const query = requestQuery(req.url)
  if (!file || (!query.has('n') && !query.has('last') && visible === undefined)) return send(req, res, file, cache)
  const body = JSON.parse((await readSmall(file, cache)).toString('utf8')) as Record<string, unknown>
  const all = (body[key] as string[] | undefined) ?? []
  body[key] = paginate(res, req.url, path, visible === undefined ? all : all.filter(visible))
  sendJson(res, 200, JSON.stringify(body), file.headers.contentType)
}

async function sendManifest(req: IncomingMessage, res: ServerResponse, view: SiteView, name: string, reference: string, cache: SmallFileCache, cacheFor: (immutable: boolean) => void): Promise<void> {
  let file = isDigest(reference) || isTag(reference) ? await view.file(name, `manifests/${reference}`) : undefined
  const fallback = file?.headers.platformFallback
  if (file && fallback !== undefined && isIndex(file.headers.contentType)) {
    // What this URL answers depends on Accept: caches in front (a CDN) must keep the answers apart.
    res.setHeader('Vary', 'Accept')
    if (!acceptsMediaType(req.headers.accept, file.headers.contentType)) file = fallback === null ? undefined : await view.file(name, fallback)
  }
  if (!file) {
    throw new ZregError('MANIFEST_UNKNOWN', 'manifest unknown', { detail: isDigest(reference) ? { Digest: reference } : { Tag: reference } })
  }
  cacheFor(isDigest(reference))
  return send(req, res, file, cache)
}

/**
 * The read half of the distribution-spec (GET and HEAD) over a site view. Only paths the view knows are
 * served, so `..`, encoded traversal and stray links never reach the file system. Returns false when
 * the request is not a read route, so a caller may handle it. `options.path` serves another (decoded)
 * path than the request's own: a mirror request resolved to its repository; `options.visible`, the
 * repositories the catalog may list to this caller (access control: the rest stay unnamed);
 * `options.privateAnswer`, an answer no shared cache may keep for another caller (Cache-Control private).
 */
export async function serveRead(req: IncomingMessage, res: ServerResponse, view: SiteView, cache: SmallFileCache, options: { path?: string; cacheMaxAge?: number; visible?: (repository: string) => boolean; privateAnswer?: boolean } = {}): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  const path = options.path ?? requestPath(req.url)
  if (path === undefined) throw new ZregError('NAME_INVALID', 'the request path is not valid percent-encoding')
  // Cache-Control (cache-control.ts) only where the view says how long what can change may be kept.
  const cacheFor = (immutable: boolean) => {
    if (options.cacheMaxAge === undefined) return
    const value = immutable ? immutableCacheControl : mutableCacheControl(options.cacheMaxAge)
    // An answer for this caller only: no shared cache (a CDN) may keep it for another.
    res.setHeader('Cache-Control', options.privateAnswer ? value.replace(/^public/, 'private') : value)
    if (options.privateAnswer) res.setHeader('Vary', 'Authorization')
  }
  if (path === '/v2/' || path === '/v2') {
    cacheFor(false)
    sendJson(res, 200, '{}')
    return true
  }
  if (path === '/v2/_catalog') {
    cacheFor(false)
    await sendList(req, res, view.rootFile('v2/_catalog'), 'repositories', path, cache, options.visible)
    return true
  }
  const page = path === '/' || path === '/index.html' ? view.rootFile(pageFile) : undefined
  if (page) {
    // The catalog page for people: it changes with each build, as tag lists do.
    cacheFor(false)
    await send(req, res, page, cache)
    return true
  }
  const match = routePattern.exec(path)
  if (!match) throw new ZregError('NAME_UNKNOWN', `no registry route for ${path}`, { detail: { path } })
  const [, name, kind, reference] = match as unknown as [string, string, string, string]
  // Names are case-sensitive and lowercase: /v2/App/... is no repository, never another's content.
  if (!isRepository(name)) throw new ZregError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name } })
  // Like distribution: a manifest or blob of an unknown repository is simply unknown (404).
  const known = view.hasRepository(name)
  if (!known && (kind === 'tags' || kind === 'referrers')) {
    throw new ZregError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name } })
  }
  switch (kind) {
    case 'tags':
      if (reference !== 'list') throw new ZregError('NAME_UNKNOWN', `no registry route for ${path}`, { detail: { path } })
      cacheFor(false)
      await sendList(req, res, await view.file(name, 'tags/list'), 'tags', path, cache)
      return true
    case 'blobs': {
      // Asked of the view even for a repository it does not list: push mode holds blobs uploaded to a
      // repository before any manifest names it.
      const file = isDigest(reference) ? await view.file(name, `blobs/${reference}`) : undefined
      if (!file) throw new ZregError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: reference })
      const redirect = file.headers.redirect
      if (redirect !== undefined) {
        // Held elsewhere (a CDN, a mirror), as the reference registry redirects to its storage; until a
        // build changes the rules, as tags do.
        cacheFor(false)
        res.statusCode = redirect.status
        res.setHeader('Location', redirect.location)
        res.setHeader('Content-Length', 0)
        res.end()
        return true
      }
      cacheFor(true)
      await send(req, res, file, cache)
      return true
    }
    case 'referrers': {
      if (!isDigest(reference)) throw new ZregError('DIGEST_INVALID', `"${reference}" is not a digest`)
      const file = await view.file(name, `referrers/${reference}`)
      // Every digest has a (possibly empty) referrers list, as the distribution-spec requires; it grows.
      cacheFor(false)
      if (file) await send(req, res, file, cache)
      else sendJson(res, 200, emptyReferrers, MediaTypes.OciIndex)
      return true
    }
    default:
      await sendManifest(req, res, view, name, reference, cache, cacheFor)
      return true
  }
}
