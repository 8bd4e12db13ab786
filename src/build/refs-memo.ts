import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../store/atomic.js'
import { joinedText, type GenerationTexts } from './generation-texts.js'
import { readParsed, rememberParsed } from './parsed-files.js'
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
  /** The store's absolute path. */
  store: string
  version: string
  /** The build settings every repository's input hash depends on, as JSON. */
  salt: string
  /** Repository name -> how many tags it has: every repository of the generation. */
  tags: ReadonlyMap<string, number>
}

/** The memo as its file holds it. */
interface MemoFile {
  format: 1
  store: string
  version: string
  salt: string
  tags: Record<string, number>
}

const memoFile = 'refs-memo.json'

/** The memo beside `generation` when it was made from `store` with these settings, else undefined. Kept parsed in memory (parsed-files.ts): callers never change it. */
export function readRefsMemo(paths: TreePaths, generation: string, store: string, salt: string): RefsMemo | undefined {
  const memo = readParsed(join(paths.generations, generation, memoFile), (path): RefsMemo | undefined => {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as MemoFile
      return parsed.format === 1 ? { store: parsed.store, version: parsed.version, salt: parsed.salt, tags: new Map(Object.entries(parsed.tags)) } : undefined
    } catch {
      return undefined
    }
  })
  return memo !== undefined && memo.store === resolve(store) && memo.salt === salt ? memo : undefined
}

/**
 * Records what `generation` was built from; undefined: it cannot be told (the memo goes, so none
 * misleads). `texts`, when the build has them, are the generation's texts, whose tag counts are those
 * of the memo (generation-texts.ts): copied, not made again.
 */
export async function writeRefsMemo(paths: TreePaths, generation: string, memo: RefsMemo | undefined, texts?: GenerationTexts): Promise<void> {
  const path = join(paths.generations, generation, memoFile)
  if (memo === undefined) {
    rmSync(path, { force: true })
    return
  }
  const store = resolve(memo.store)
  const head: Omit<MemoFile, 'tags'> = { format: 1, store, version: memo.version, salt: memo.salt }
  const text = texts === undefined
    ? JSON.stringify({ ...head, tags: Object.fromEntries(memo.tags) } satisfies MemoFile)
    : Buffer.concat([Buffer.from(`${JSON.stringify(head).slice(0, -1)},"tags":{`), ...joinedText(texts, 'tags', Buffer.from(',')), Buffer.from('}}')])
  await writeFileAtomic(path, text, { fsync: false })
  rememberParsed(path, { ...memo, store })
}
