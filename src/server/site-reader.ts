import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { readFile, readlink, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import type { HeaderEntry } from '../build/plan.js'
import { metaDir, pageFile, repositoryHeadersPath, treePaths } from '../build/tree-paths.js'
import { pageContentType } from '../build/catalog-page.js'
import { defaultCacheMaxAge } from '../build/cache-control.js'
import type { SiteManifest } from '../build/write-tree.js'
import type { RedirectRules } from '../build/redirect-rules.js'
import type { Digest } from '../oci/digest.js'
import { ZregError } from '../errors.js'
import { configPlatform, hostPlatform, platformMatches, type Platform } from '../oci/platform.js'

/** A file the server may send: its bytes (small generated files) or path on disk, and its headers. */
export interface SiteFile {
  path?: string
  bytes?: Buffer
  headers: HeaderEntry
}

/** One generation of a built tree, loaded: every servable path is in these maps and nothing else is served. */
export interface LoadedSite {
  generation: string
  /** The generation's metadata directory (root files live under it). */
  meta: string
  /** Repository name -> (repository-relative path -> headers). */
  repositories: Map<string, Map<string, HeaderEntry>>
  /** Repository name -> the directory its files are served from. */
  directories: Map<string, string>
  rootFiles: Map<string, HeaderEntry>
  /** Seconds caches may keep what a build can change (cache-control.ts). */
  cacheMaxAge: number
}

/**
 * The generation `out/.zreg` points at (changes when a build swaps a new one in). A copy that followed
 * the links (`cp -rL`, an artifact upload) holds `.zreg` as a directory: it is its own, fixed generation.
 */
export async function liveGeneration(out: string): Promise<string> {
  try {
    return await readlink(join(out, metaDir))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EINVAL' && existsSync(join(out, metaDir, 'site.json'))) return metaDir
    if (code === 'ENOENT' || code === 'EINVAL') throw new ZregError('SITE_NOT_FOUND', `${out} is not a tree written by \`zreg build\``)
    throw error
  }
}

/** Applies serve-time redirect rules to the blobs of one repository's headers (the build's own redirects stay). */
function redirectBlobs(name: string, headers: Record<string, HeaderEntry>, redirects: RedirectRules): void {
  for (const [path, entry] of Object.entries(headers)) {
    if (!path.startsWith('blobs/') || entry.redirect !== undefined || entry.digest === undefined) continue
    const redirect = redirects.redirectOf(name, { digest: entry.digest as Digest, size: entry.length, mediaType: entry.mediaType ?? '' })
    if (redirect) entry.redirect = redirect
  }
}

/**
 * Loads the live generation; the server reads files only through it, so a build is seen whole.
 * `redirects`: rules that send blobs the tree holds elsewhere all the same.
 */
export async function loadSite(out: string, redirects?: RedirectRules): Promise<LoadedSite> {
  const generation = await liveGeneration(out)
  const meta = await realpath(join(out, generation))
  let site: SiteManifest
  try {
    site = JSON.parse(await readFile(join(meta, 'site.json'), 'utf8')) as SiteManifest
  } catch (error) {
    throw new ZregError('SITE_NOT_FOUND', `${out} has no readable ${metaDir}/site.json: ${(error as Error).message}`)
  }
  const paths = treePaths(out)
  const repositories = new Map<string, Map<string, HeaderEntry>>()
  const directories = new Map<string, string>()
  await Promise.all(
    Object.entries(site.repositories).map(async ([name, key]) => {
      let headers: Record<string, HeaderEntry>
      try {
        headers = JSON.parse(await readFile(repositoryHeadersPath(paths, key), 'utf8')) as Record<string, HeaderEntry>
      } catch (error) {
        throw new ZregError('SITE_NOT_FOUND', `the headers of ${name} in ${out} are unreadable (${(error as Error).message}); run \`zreg build\` again`)
      }
      if (redirects !== undefined && redirects.rules.length > 0) redirectBlobs(name, headers, redirects)
      repositories.set(name, new Map(Object.entries(headers)))
      directories.set(name, join(paths.objects, key))
    }),
  )
  return { generation, meta, repositories, directories, rootFiles: new Map(Object.entries(site.rootFiles)), cacheMaxAge: site.cacheMaxAge ?? defaultCacheMaxAge }
}

/**
 * The catalog page of the live generation of the tree at `out`, read where the generation keeps it (so
 * its path names the generation, and a cache keyed by path never serves an older page); undefined when
 * the tree has none.
 */
export function treePage(out: string): SiteFile | undefined {
  try {
    const path = realpathSync(join(out, metaDir, pageFile))
    return { path, headers: { contentType: pageContentType, length: statSync(path).size } }
  } catch {
    return undefined
  }
}

/** The file behind a repository-relative path, if the build wrote one. */
export function siteFile(site: LoadedSite, repository: string, path: string): SiteFile | undefined {
  const headers = site.repositories.get(repository)?.get(path)
  return headers ? { path: join(site.directories.get(repository)!, path), headers } : undefined
}

/** The platforms a tag's manifest runs on: an index's entries, or an image's config; [] when unknown. */
function tagPlatforms(site: LoadedSite, repository: string, tag: string): Platform[] {
  try {
    const manifestPath = siteFile(site, repository, `manifests/${tag}`)?.path
    if (manifestPath === undefined) return []
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { manifests?: { platform?: Platform }[]; config?: { digest?: string } }
    if (manifest.manifests) return manifest.manifests.flatMap((entry) => (entry.platform ? [entry.platform] : []))
    const configPath = manifest.config?.digest === undefined ? undefined : siteFile(site, repository, `blobs/${manifest.config.digest}`)?.path
    if (configPath === undefined) return []
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Partial<Platform>
    return config.os && config.architecture ? [configPlatform({ ...config, os: config.os, architecture: config.architecture })] : []
  } catch {
    return []
  }
}

/**
 * A few `repo:tag` names the site serves, for the pull lines `zreg serve` prints: only images a client on
 * this machine can run (an index with its platform, or an image built for it), since suggesting a pull
 * that fails with "no image found for platform" misleads.
 */
export function siteExamples(site: LoadedSite, count: number, platform: Platform = hostPlatform()): string[] {
  const examples: string[] = []
  for (const [name, files] of site.repositories) {
    for (const path of files.keys()) {
      if (examples.length >= count) return examples
      if (!path.startsWith('manifests/') || path.startsWith('manifests/sha256:')) continue
      const tag = path.slice('manifests/'.length)
      if (tagPlatforms(site, name, tag).some((candidate) => platformMatches(platform, candidate))) examples.push(`${name}:${tag}`)
    }
  }
  return examples
}
