import { createHash } from 'node:crypto'
import { linkSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileParts } from './file-parts.js'
import type { RepositoryEntry } from './plan.js'

/**
 * How many files a generation's manifest map is split into for `repositories`: a rebuild rewrites only
 * the buckets that changed, reading back the lines of every repository in them, so a bucket holds about
 * 64 repositories at most (16 buckets up to 1,024 repositories, 256 for 10,000; at most 1,024).
 */
export function mapBucketCount(repositories: number): number {
  let count = 16
  while (count < 1024 && count * 64 < repositories) count *= 2
  return count
}

/** FNV-1a of the name: a stable spread, and cheap enough for every repository on every build. */
function bucketOf(name: string, count: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % count
}

/** One file of a generation's manifest map: its name and the repositories whose lines it holds. */
export interface MapBucket {
  name: string
  /** Its place among the mapBucketCount buckets. */
  index: number
  /** SHA-256 (hex) of its repositories' keys: equal hashes, equal repositories (a key names its repository's name and content). */
  hash: string
  members: RepositoryEntry[]
}

/**
 * How a generation's manifest map is split: up to `mapBucketCount` files, each holding the lines of
 * the repositories whose name hashes to it, named `<count>-<bucket>-<hash of its repositories' keys>.map`
 * (the same for every server's map: computed once per build). Empty buckets have no file: Caddy
 * refuses to import a file without tokens.
 */
export function planMapBuckets(repositories: RepositoryEntry[]): MapBucket[] {
  const count = mapBucketCount(repositories.length)
  const buckets: RepositoryEntry[][] = Array.from({ length: count }, () => [])
  for (const repository of repositories) buckets[bucketOf(repository.name, count)]!.push(repository)
  return buckets.flatMap((members, index) => {
    if (members.length === 0) return []
    // A repository's key names its content and name, so the keys name the bucket's content.
    const hash = createHash('sha256').update(members.map((member) => member.key).join(' ')).digest('hex')
    // The count is in the name: buckets of another count hold other repositories.
    return [{ name: `${count}-${index.toString(16).padStart(3, '0')}-${hash.slice(0, 16)}.map`, index, hash, members }]
  })
}

/** Before each repository's lines in a bucket file: a comment naming its key (nginx and Caddy skip it). */
function markerOf(key: string): Buffer {
  return Buffer.from(`# ${key}\n`)
}

/**
 * Writes a generation's manifest map for a server, one file per bucket in `dir`, so the server includes
 * them all with one glob (`dir/*.map`). A bucket whose repositories did not change is a hard link to
 * the previous generation's file (`previous`): a one-tag rebuild writes one bucket, whatever the number
 * of repositories. In a bucket written, each repository's lines follow a comment naming its key, so
 * the unchanged ones are copied from the previous generation's file of that bucket (one read); the
 * others come from `lines(key)` (written beside the repository's directory when the repository was).
 */
export function writeMapBuckets(dir: string, previous: string | undefined, buckets: MapBucket[], lines: (key: string) => string): void {
  mkdirSync(dir, { recursive: true })
  let before: string[] = []
  try {
    if (previous !== undefined) before = readdirSync(previous)
  } catch {
    // No previous generation (or one of an older layout): every bucket is written.
  }
  const names = new Set(before)
  // `<count>-<bucket>-`: the previous file of the same bucket.
  const byBucket = new Map(before.map((name) => [name.slice(0, name.lastIndexOf('-') + 1), name]))
  for (const { name, members } of buckets) {
    if (names.has(name)) {
      try {
        linkSync(join(previous!, name), join(dir, name))
        continue
      } catch {
        // Another file system or a link limit: write it instead.
      }
    }
    const earlier = byBucket.get(name.slice(0, name.lastIndexOf('-') + 1))
    const reusable = earlier === undefined ? new Map<string, Buffer>() : linesByKey(join(previous!, earlier))
    writeFileParts(join(dir, name), members.flatMap((member) => [markerOf(member.key), reusable.get(member.key) ?? Buffer.from(lines(member.key))]))
  }
}

/** Each repository's lines in a bucket file, by key; none for a file of another layout, or none. */
function linesByKey(path: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>()
  let text: Buffer
  try {
    text = readFileSync(path)
  } catch {
    return found
  }
  for (let at = 0; at < text.length; ) {
    // A repository's lines start with a quote: a line starting with "#" is always a marker.
    if (text[at] !== 0x23) return new Map()
    const eol = text.indexOf(0x0a, at)
    if (eol < 0) return new Map()
    const next = text.indexOf('\n#', eol)
    const end = next < 0 ? text.length : next + 1
    found.set(text.toString('latin1', at + 2, eol), text.subarray(eol + 1, end))
    at = end
  }
  return found
}
