import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs'
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
  let text: string | undefined
  try {
    text = journalFrom(journalPath(storeLocation), since)
  } catch {
    return undefined
  }
  if (text === undefined) return undefined
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
    // From `since` on, the lines must chain, one write after the other.
    if (line.from !== at) return undefined
    for (const [name, refs] of Object.entries(line.repositories)) changes.set(name, refs)
    at = line.to
  }
  return at === now ? changes : undefined
}

/** Bytes of the journal's end read first when looking for a version; more (4x each time) while it is not there. */
const tailBytes = 64 * 1024

/**
 * The journal from the line that starts at version `since` to its end, or undefined when no line does.
 * Read from the end: a build looks for the version the last build saw, a line or a few back, and the
 * journal may hold 8 MB of older lines. Lines are JSON in a fixed order, so the line is found by its
 * first bytes without parsing those before it.
 */
function journalFrom(path: string, since: IndexVersion): string | undefined {
  const start = `{"from":${JSON.stringify(since)},`
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    for (let window = tailBytes; ; window *= 4) {
      const offset = Math.max(0, size - window)
      const bytes = Buffer.allocUnsafe(size - offset)
      let read = 0
      while (read < bytes.length) {
        const count = readSync(fd, bytes, read, bytes.length - read, offset + read)
        if (count === 0) break
        read += count
      }
      // A window may start inside a line (or a character): only a match after a newline counts, or at the file's start.
      const text = bytes.toString('utf8', 0, read)
      const found = offset === 0 && text.startsWith(start) ? 0 : text.indexOf(`\n${start}`)
      if (found >= 0) return text.slice(found === 0 && offset === 0 ? 0 : found + 1)
      if (offset === 0) return undefined
    }
  } finally {
    closeSync(fd)
  }
}
