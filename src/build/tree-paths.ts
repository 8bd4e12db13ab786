import { basename, dirname, join, resolve } from 'node:path'

/**
 * Where a build keeps its files. `out` is a symlink to the live generation; generations and the
 * per-repository directories they share live in a hidden sibling, so swapping is one rename.
 */
export interface TreePaths {
  out: string
  root: string
  objects: string
  generations: string
  lock: string
}

export function treePaths(out: string): TreePaths {
  const absolute = resolve(out)
  const root = join(dirname(absolute), `.${basename(absolute)}.builds`)
  return { out: absolute, root, objects: join(root, 'objects'), generations: join(root, 'gen'), lock: join(root, 'build.lock') }
}

/** The generation-level metadata directory, not served (servers skip dot paths). */
export const metaDir = '.zreg'
