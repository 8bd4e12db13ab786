import { basename, dirname, join, resolve } from 'node:path'

/**
 * Where a build keeps its files. `out` is a symlink to the live generation; generations and the
 * per-repository directories they share live in a hidden sibling, so swapping is one rename.
 */
export interface TreePaths {
  out: string
  root: string
  /** The literal tree (`v2/...`) plain file servers publish, updated in place repository by repository. */
  live: string
  objects: string
  generations: string
  lock: string
}

export function treePaths(out: string): TreePaths {
  const absolute = resolve(out)
  const root = join(dirname(absolute), `.${basename(absolute)}.builds`)
  return { out: absolute, root, live: join(root, 'v2'), objects: join(root, 'objects'), generations: join(root, 'gen'), lock: join(root, 'build.lock') }
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
