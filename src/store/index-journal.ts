import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { StoredRef } from './store.js'

/**
 * One version of a store's index.json, as the file system tells it apart from any other: its inode
 * (a write replaces the file by a rename), size and change times in nanoseconds. A tool that edits the
 * file in place changes its times, so its edit never passes for a version zreg recorded.
 */
export type IndexVersion = string

export function indexVersion(path: string): IndexVersion | undefined {
  try {
    const stat = statSync(path, { bigint: true })
    return `${stat.ino}-${stat.size}-${stat.mtimeNs}-${stat.ctimeNs}`
  } catch {
    return undefined
  }
}

/** One line of the journal: a write of index.json, and every reference of each repository it changed, as they stand after it. */
interface JournalLine {
  from: IndexVersion
  to: IndexVersion
  repositories: Record<string, StoredRef[]>
}

/** The journal past this size starts again with its newest line: a reader older than that reads the whole index. */
const journalLimit = 8 * 1024 * 1024

/** Where a store journals the writes of its index.json: in its own directory, beside the blob links and staging. */
export function journalPath(storeLocation: string): string {
  return join(storeLocation, '.zreg', 'index-journal.jsonl')
}

/**
 * Records that index.json went from version `from` to `to`, changing the references of `repositories`
 * (name -> all its references now; none: the repository is gone). The caller holds the index lock, so
 * lines never interleave. Best effort, and not flushed: the index is written already, and a line lost
 * (a crash, a full disk) or cut short only breaks the chain, so a reader reads the whole index.
 */
export function journalWrite(storeLocation: string, from: IndexVersion | undefined, to: IndexVersion | undefined, repositories: Map<string, StoredRef[]>): void {
  const path = journalPath(storeLocation)
  if (from === undefined || to === undefined) return
  const line = `${JSON.stringify({ from, to, repositories: Object.fromEntries(repositories) } satisfies JournalLine)}\n`
  try {
    mkdirSync(dirname(path), { recursive: true })
    const size = (() => {
      try {
        return statSync(path).size
      } catch {
        return 0
      }
    })()
    if (size + line.length > journalLimit) writeFileSync(path, line)
    else appendFileSync(path, line)
  } catch {
    // The write of the index succeeded: its caller must not see an error for the journal.
  }
}

/**
 * The repositories whose references changed between index version `since` and `now` (name -> all its
 * references at `now`, none for a repository now gone), from the journal; undefined when the journal
 * cannot tell (no line from `since`, a write it did not record, a line cut short): read the whole index.
 */
export function journalChanges(storeLocation: string, since: IndexVersion, now: IndexVersion): Map<string, StoredRef[]> | undefined {
  if (since === now) return new Map()
  let text: string
  try {
    text = readFileSync(journalPath(storeLocation), 'utf8')
  } catch {
    return undefined
  }
  const changes = new Map<string, StoredRef[]>()
  let at = since
  for (const raw of text.split('\n')) {
    if (at === now) break
    if (raw === '') continue
    let line: JournalLine
    try {
      line = JSON.parse(raw) as JournalLine
    } catch {
      return undefined
    }
    // Lines before `since` are skipped; from there on they must chain, one write after the other.
    if (line.from !== at) {
      if (changes.size > 0 || at !== since) return undefined
      continue
    }
    for (const [name, refs] of Object.entries(line.repositories)) changes.set(name, refs)
    at = line.to
  }
  return at === now ? changes : undefined
}
