import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RedirectRules } from '../build/redirect-rules.js'
import { ZregError } from '../errors.js'
import type { BasicAccess } from './auth/basic-access.js'
import { guardRequest } from './auth/route-access.js'
import { toOciResponse } from './oci-error-response.js'
import { mirrorPath } from './mirror-request.js'
import { requestPath, requestQuery, serveRead, type SiteView } from './read-routes.js'
import type { SmallFileCache } from './send-file.js'
import { liveGeneration, loadSite, siteExamples, siteFile, type LoadedSite } from './site-reader.js'

/** A loaded generation as the read routes see it. */
function viewOf(site: LoadedSite): SiteView {
  return {
    hasRepository: (name) => site.repositories.has(name),
    file: (repository, path) => siteFile(site, repository, path),
    rootFile: (path) => {
      const headers = site.rootFiles.get(path)
      return headers ? { path: `${site.meta}/${path}`, headers } : undefined
    },
  }
}

/**
 * The read-only registry over a built tree. A new generation swapped in by `zreg build` is picked up
 * without a restart; the old one serves until the new one is loaded.
 */
export class StaticRegistry {
  private site: LoadedSite
  private view: SiteView
  private cache: SmallFileCache = new Map()
  private refreshing: Promise<void> | undefined

  private constructor(
    private readonly out: string,
    site: LoadedSite,
    private readonly redirects: RedirectRules | undefined,
    private readonly access: BasicAccess | undefined,
  ) {
    this.site = site
    this.view = viewOf(site)
  }

  /**
   * `redirects`: blobs the tree holds that are answered with a redirect all the same (the tree's own
   * redirects always are); `access`: who may read what (absent: anyone, anything).
   */
  static async open(out: string, redirects?: RedirectRules, access?: BasicAccess): Promise<StaticRegistry> {
    return new StaticRegistry(out, await loadSite(out, redirects), redirects, access)
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
      this.site = await loadSite(this.out, this.redirects)
      this.view = viewOf(this.site)
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
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
    this.answer(req, res).catch((error: unknown) => toOciResponse(res, error))
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url)
    const mirrored = path === undefined ? undefined : mirrorPath(path, requestQuery(req.url), this.view.hasRepository)
    // Checked before anything is read, for the path served (a mirror request's resolved repository).
    const target = mirrored ?? path
    // The repository a mirror request resolves to depends on which exist: while anything needs a login,
    // so does it, as the catalog page (what it answers would tell whether a private repository exists).
    if (this.access !== undefined && mirrored !== undefined) await this.access.check(req, res, { kind: 'page' })
    const guarded = this.access === undefined || target === undefined ? {} : await guardRequest(this.access, req, res, target)
    const served = await serveRead(req, res, this.view, this.cache, { cacheMaxAge: this.site.cacheMaxAge, ...(mirrored === undefined ? {} : { path: mirrored }), ...guarded })
    if (served) return
    res.setHeader('Allow', 'GET, HEAD')
    throw new ZregError('UNSUPPORTED', `${req.method ?? 'this method'} is not supported: this registry is read-only`)
  }
}
