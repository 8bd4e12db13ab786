import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { digestAlgorithm, digestHex, isDigest, type Digest } from '../oci/digest.js'

/**
 * Which repositories a blob was pushed (or mounted) into before any manifest names it, kept in the store
 * (`.zreg/links/<repository>/_blobs/<algorithm>/<hex>`, empty files) so a restart remembers them. As in
 * the reference registry, a blob is readable, mountable and referable only in a repository that holds
 * it: knowing a digest is not access to its bytes. No repository component starts with `_`, so the
 * `_blobs` and `_namespaces` directories cannot meet a repository's own path.
 */
export class BlobLinks {
  private readonly root: string

  constructor(storeLocation: string) {
    this.root = join(storeLocation, '.zreg', 'links')
  }

  private path(scope: string, digest: Digest): string {
    return join(this.root, scope, '_blobs', digestAlgorithm(digest), digestHex(digest))
  }

  private static namespaceScope(namespace: string): string {
    return join('_namespaces', namespace)
  }

  private async create(scope: string, digest: Digest): Promise<void> {
    const path = this.path(scope, digest)
    // An empty file appears whole or not at all: no temp file is needed.
    await writeFile(path, '').catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(path, '')
    })
  }

  private async exists(scope: string, digest: Digest): Promise<boolean> {
    return (await stat(this.path(scope, digest)).catch(() => undefined)) !== undefined
  }

  /** Records that `repository` holds the blob (and, in namespaced mode, its namespace). */
  async add(repository: string, digest: Digest, namespace?: string): Promise<void> {
    await this.create(repository, digest)
    if (namespace !== undefined) await this.create(BlobLinks.namespaceScope(namespace), digest)
  }

  has(repository: string, digest: Digest): Promise<boolean> {
    return this.exists(repository, digest)
  }

  /** Whether the blob was pushed into any repository of the namespace. */
  inNamespace(namespace: string, digest: Digest): Promise<boolean> {
    return this.exists(BlobLinks.namespaceScope(namespace), digest)
  }

  async remove(repository: string, digest: Digest): Promise<void> {
    await rm(this.path(repository, digest), { force: true })
  }

  async removeFromNamespace(namespace: string, digest: Digest): Promise<void> {
    await rm(this.path(BlobLinks.namespaceScope(namespace), digest), { force: true })
  }

  /** Every blob some repository (or namespace) holds this way: what `zreg gc` keeps (a walk of every link). */
  async all(): Promise<Set<Digest>> {
    const found = new Set<Digest>()
    for (const entry of await readdir(this.root, { recursive: true }).catch(() => [] as string[])) {
      const match = /(?:^|\/)_blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(entry)
      const digest = match ? `${match[1]}:${match[2]}` : ''
      if (isDigest(digest)) found.add(digest)
    }
    return found
  }

  /** The repositories that hold the blob (a walk of every link: only blob deletes ask). */
  async holders(digest: Digest): Promise<string[]> {
    const tail = `/${join('_blobs', digestAlgorithm(digest), digestHex(digest))}`
    const entries = await readdir(this.root, { recursive: true }).catch(() => [] as string[])
    return entries.filter((entry) => entry.endsWith(tail) && !entry.startsWith('_namespaces')).map((entry) => entry.slice(0, -tail.length))
  }
}
