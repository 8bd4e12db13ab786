import { join, resolve } from 'node:path'

/**
 * Where a build keeps its files, all inside `out` so that a copy of it (`cp -a`, `rsync -a`, `tar`) serves
 * the same: every link in it is relative and stays inside. `out/v2` is the literal tree plain file
 * servers publish; `out/.zreg` is a link to the live generation's metadata (what zreg serve and nginx
 * read), swapped by one rename; generations and the per-repository directories they share live in
 * `out/.zreg-builds`.
 */
export interface TreePaths {
  out: string
  root: string
  /** The literal tree (`v2/...`) plain file servers publish, updated in place repository by repository. */
  live: string
  /** The link to the live generation's metadata directory. */
  current: string
  objects: string
  generations: string
  lock: string
}

/** The directory inside `out` that holds what builds share (hidden: servers skip dot paths). */
export const buildsDir = '.zreg-builds'

export function treePaths(out: string): TreePaths {
  const absolute = resolve(out)
  const root = join(absolute, buildsDir)
  return { out: absolute, root, live: join(absolute, 'v2'), current: join(absolute, metaDir), objects: join(root, 'objects'), generations: join(root, 'gen'), lock: join(root, 'build.lock') }
}

/** The generation-level metadata directory, not served (servers skip dot paths). */
export const metaDir = '.zreg'

/** Beside a repository's directory (objects/<key>), the headers of its files: not in the served tree. */
export function repositoryHeadersPath(paths: TreePaths, key: string): string {
  return join(paths.objects, `${key}.headers.json`)
}

/** Beside a repository's directory, its lines of the nginx manifest map. */
export function repositoryNginxMapPath(paths: TreePaths, key: string): string {
  return join(paths.objects, `${key}.nginx.map`)
}

/** Beside a repository's directory, its lines of the Caddy manifest map. */
export function repositoryCaddyMapPath(paths: TreePaths, key: string): string {
  return join(paths.objects, `${key}.caddy.map`)
}

/** Beside a repository's directory, its part of the catalog page (catalog-page.ts). */
export function repositoryPagePath(paths: TreePaths, key: string): string {
  return join(paths.objects, `${key}.page.html`)
}

/** Everything under objects/ that belongs to repository directory `key`: the directory and the files beside it. */
export function repositoryObjectPaths(paths: TreePaths, key: string): string[] {
  return [join(paths.objects, key), repositoryHeadersPath(paths, key), repositoryNginxMapPath(paths, key), repositoryCaddyMapPath(paths, key), repositoryPagePath(paths, key)]
}

/** The catalog page at the tree root, for people (plain servers send it for `/`). */
export const pageFile = 'index.html'
