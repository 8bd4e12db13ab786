import { copyFileSync, createWriteStream, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ZregError } from '../errors.js'
import { tempPathBeside } from '../store/atomic.js'
import type { BlobReader, LocalBlobPaths } from '../store/store.js'
import { hasLocalBlobPaths } from '../store/store.js'
import { caddyMapFile } from './caddy.js'
import { nginxMapFile } from './nginx.js'
import { apacheBlobRules, apacheManifestRules, apacheRulesFile } from './hosts/apache-manifest-rules.js'
import { repositoryParts } from '../oci/tree-collisions.js'
import type { HeaderEntry, RepositoryPlan } from './plan.js'
import { repositoryCaddyMapPath, repositoryHeadersPath, repositoryNginxMapPath, repositoryPagePath, type TreePaths } from './tree-paths.js'

/** Links a blob into the tree (no bytes copied); copies only when the store is on another file system. */
async function placeBlob(store: BlobReader & Partial<LocalBlobPaths>, digest: string, target: string, optional: boolean): Promise<boolean> {
  if (hasLocalBlobPaths(store)) {
    const source = store.blobPath(digest as never)
    try {
      linkSync(source, target)
      return true
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') {
        if (optional) return false
        throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is referenced but not in the store; run \`zreg add\` for the image again`)
      }
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error
      copyFileSync(source, target)
      return true
    }
  }
  if ((await store.blobStat(digest as never)) === undefined) {
    if (optional) return false
    throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is referenced but not in the store`)
  }
  await pipeline(await store.blobRead(digest as never), createWriteStream(target))
  return true
}

/**
 * What a repository's directory is written with beside it (its lines of the server maps, its part of the
 * catalog page): kept in memory by the build that planned it, so writing the generation reads none of
 * it back (a full build of 1,000 repositories: 3,000 files).
 */
export interface RepositoryTexts {
  nginxMap: string
  caddyMap: string
  page: string
}

/** What a build keeps of them: not its part of the page when the page will list repositories only (it shows none of it). */
export type KeptTexts = Omit<RepositoryTexts, 'page'> & { page?: string }

export function repositoryTexts(plan: RepositoryPlan): RepositoryTexts {
  return { nginxMap: nginxMapFile(plan), caddyMap: caddyMapFile(plan), page: plan.page }
}

/** Writes one repository's directory beside its final name, then renames it into place. */
export async function writeRepository(store: BlobReader, paths: TreePaths, plan: RepositoryPlan, texts: RepositoryTexts): Promise<void> {
  const final = join(paths.objects, plan.key)
  const temp = tempPathBeside(final)
  try {
    mkdirSync(temp)
    const parts = new Set(plan.files.map((file) => file.path.slice(0, file.path.indexOf('/'))))
    for (const part of repositoryParts) if (parts.has(part)) mkdirSync(join(temp, part))
    const headers: Record<string, HeaderEntry> = {}
    for (const file of plan.files) {
      const target = join(temp, file.path)
      // Redirected elsewhere: the tree holds its headers (and the redirect), never its bytes.
      if (file.headers.redirect === undefined) {
        if ('text' in file.source) writeFileSync(target, file.source.text)
        else if (!(await placeBlob(store, file.source.blob, target, file.source.optional ?? false))) continue
      }
      headers[file.path] = file.headers
    }
    // Inside the tree, so Apache sees a new build's manifests without a reload (hidden: no registry content).
    if (parts.has('manifests')) writeFileSync(join(temp, 'manifests', apacheRulesFile), apacheManifestRules(plan))
    const blobRules = apacheBlobRules(plan)
    if (blobRules !== undefined) writeFileSync(join(temp, 'blobs', apacheRulesFile), blobRules)
    // The metadata goes first: the directory's rename is what makes the repository exist.
    writeFileSync(repositoryHeadersPath(paths, plan.key), JSON.stringify(headers))
    writeFileSync(repositoryNginxMapPath(paths, plan.key), texts.nginxMap)
    writeFileSync(repositoryCaddyMapPath(paths, plan.key), texts.caddyMap)
    writeFileSync(repositoryPagePath(paths, plan.key), texts.page)
    // Synchronous, as the writes above: a full build renames a directory per repository, and waiting for
    // each on the thread pool left the build idle for 200-300 ms of 1,000.
    try {
      renameSync(temp, final)
    } catch (error) {
      // Another build wrote the same content-addressed directory first: theirs is identical.
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error
      rmSync(temp, { recursive: true, force: true })
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
}
