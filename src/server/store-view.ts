import { statSync } from 'node:fs'
import { join } from 'node:path'
import { planRepository, treeFormatVersion, type PlanOptions } from '../build/plan.js'
import { pageFile } from '../build/tree-paths.js'
import { groupByRepository, loadRepository, repositoryInput, type ManifestCache } from '../build/site-model.js'
import { isDigest, type Digest } from '../oci/digest.js'
import { MediaTypes } from '../oci/media-types.js'
import type { BlobLinks } from '../store/blob-links.js'
import type { LocalBlobPaths, RefReader, StoredRef } from '../store/store.js'
import type { SiteView } from './read-routes.js'
import type { SiteFile } from './site-reader.js'

interface RepositoryFiles {
  input: string
  files: Map<string, SiteFile>
}

/** What a view reads: a store, or a stack of them (store-stack.ts), and where their index.json files are. */
export type ViewedStore = RefReader & LocalBlobPaths & { readonly locations: readonly string[] }

/**
 * The store itself as a site (push mode): the same files a build would write, planned in memory per
 * repository and kept while the repository's references do not change. Reloads when an index.json is
 * replaced (every write replaces it, so its inode changes). A stack is read as one, as a build reads it.
 */
export class StoreView implements SiteView {
  private indexIdentity = ''
  private groups = new Map<string, StoredRef[]>()
  private inputs = new Map<string, string>()
  private planned = new Map<string, RepositoryFiles>()
  private catalog: SiteFile = this.catalogFile([])
  private readonly manifests: ManifestCache = new Map()
  private readonly salt: unknown[]

  constructor(
    private readonly store: ViewedStore,
    private readonly options: PlanOptions,
    private readonly links: BlobLinks,
    /** The catalog page to serve for `/` (the one of the tree push mode keeps), if any. */
    private readonly page: () => SiteFile | undefined = () => undefined,
  ) {
    this.salt = [treeFormatVersion, options.defaultPlatform]
  }

  private catalogFile(names: string[]): SiteFile {
    const bytes = Buffer.from(JSON.stringify({ repositories: names }))
    return { bytes, headers: { contentType: MediaTypes.Json, length: bytes.length } }
  }

  /** Re-reads the references when the store's index changed since the last look. */
  async refresh(): Promise<this> {
    const identity = this.store.locations
      .map((location) => {
        const info = statSync(join(location, 'index.json'))
        return `${info.ino}:${info.size}:${info.mtimeMs}`
      })
      .join('|')
    if (identity === this.indexIdentity) return this
    this.groups = groupByRepository(await this.store.refList())
    this.inputs = new Map([...this.groups].map(([name, refs]) => [name, repositoryInput(name, refs, this.salt)]))
    this.catalog = this.catalogFile([...this.groups.keys()])
    this.indexIdentity = identity
    return this
  }

  hasRepository(name: string): boolean {
    return this.groups.has(name)
  }

  private async filesOf(name: string): Promise<Map<string, SiteFile> | undefined> {
    const refs = this.groups.get(name)
    const input = this.inputs.get(name)
    if (refs === undefined || input === undefined) return undefined
    const cached = this.planned.get(name)
    if (cached?.input === input) return cached.files
    const plan = planRepository(await loadRepository(this.store, name, refs, this.manifests), this.options)
    const files = new Map<string, SiteFile>()
    for (const file of plan.files) {
      if ('text' in file.source) files.set(file.path, { bytes: Buffer.from(file.source.text), headers: file.headers })
      else files.set(file.path, { path: this.store.blobPath(file.source.blob), headers: file.headers })
    }
    this.planned.set(name, { input, files })
    return files
  }

  async file(repository: string, path: string): Promise<SiteFile | undefined> {
    const files = await this.filesOf(repository)
    const found = files?.get(path)
    if (found || !path.startsWith('blobs/')) return found
    // A blob pushed (or mounted) into a repository is readable there before a manifest names it.
    const digest = path.slice('blobs/'.length)
    if (!isDigest(digest) || !(await this.links.has(repository, digest))) return undefined
    const size = await this.store.blobStat(digest)
    return size === undefined ? undefined : { path: this.store.blobPath(digest), headers: { contentType: MediaTypes.OctetStream, digest, length: size } }
  }

  /**
   * Whether `repository` holds the blob or manifest: a manifest of it names the digest, or it was pushed
   * or mounted there. Only then may the repository serve it, mount it elsewhere or refer to it.
   */
  async holds(repository: string, digest: Digest): Promise<boolean> {
    const files = await this.filesOf(repository)
    if (files?.has(`blobs/${digest}`) || files?.has(`manifests/${digest}`)) return true
    return (await this.links.has(repository, digest)) && (await this.store.blobStat(digest)) !== undefined
  }

  /** True when any manifest of a repository (whose name starts with `prefix`) references the blob. */
  async blobReferenced(digest: string, prefix = ''): Promise<boolean> {
    for (const name of this.groups.keys()) {
      if (name.startsWith(prefix) && (await this.filesOf(name))?.has(`blobs/${digest}`)) return true
    }
    return false
  }

  rootFile(path: string): SiteFile | undefined {
    if (path === pageFile) return this.page()
    return path === 'v2/_catalog' ? this.catalog : undefined
  }
}
