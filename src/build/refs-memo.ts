import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../store/atomic.js'
import type { TreePaths } from './tree-paths.js'

/**
 * What a generation was built from, kept beside it (outside its served metadata): the store, the
 * version of its index.json (index-journal.ts), the build settings, and each repository's tag count.
 * The next build asks the store what changed since that version and surveys those repositories only:
 * with 100,000 tags, reading and sorting the whole index took most of a one-tag rebuild.
 *
 * Written only for a build that left no repository out, so the generation holds every repository the
 * version names; one whose repositories, tags or settings differ in any way is not used.
 */
export interface RefsMemo {
  format: 1
  /** The store's absolute path. */
  store: string
  version: string
  /** The build settings every repository's input hash depends on, as JSON. */
  salt: string
  /** Repository name -> how many tags it has: every repository of the generation. */
  tags: Record<string, number>
}

const memoFile = 'refs-memo.json'

export function readRefsMemo(paths: TreePaths, generation: string, store: string, salt: string): RefsMemo | undefined {
  try {
    const memo = JSON.parse(readFileSync(join(paths.generations, generation, memoFile), 'utf8')) as RefsMemo
    return memo.format === 1 && memo.store === resolve(store) && memo.salt === salt ? memo : undefined
  } catch {
    return undefined
  }
}

/** Records what `generation` was built from; undefined: it cannot be told (the memo goes, so none misleads). */
export async function writeRefsMemo(paths: TreePaths, generation: string, memo: Omit<RefsMemo, 'format'> | undefined): Promise<void> {
  const path = join(paths.generations, generation, memoFile)
  if (memo === undefined) rmSync(path, { force: true })
  else await writeFileAtomic(path, JSON.stringify({ format: 1, ...memo, store: resolve(memo.store) }), { fsync: false })
}
