import { createHash } from 'node:crypto'
import { linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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
    const hash = createHash('sha256').update(members.map((member) => member.key).join(' ')).digest('hex').slice(0, 16)
    // The count is in the name: buckets of another count hold other repositories.
    return [{ name: `${count}-${index.toString(16).padStart(3, '0')}-${hash}.map`, members }]
  })
}

/**
 * Writes a generation's manifest map for a server, one file per bucket in `dir`, so the server includes
 * them all with one glob (`dir/*.map`). A bucket whose repositories did not change is a hard link to
 * the previous generation's file (`previous`): a one-tag rebuild reads and writes one bucket, whatever
 * the number of repositories. `lines(key)` reads one repository's lines (written beside its directory
 * when the repository was written).
 */
export function writeMapBuckets(dir: string, previous: string | undefined, buckets: MapBucket[], lines: (key: string) => string): void {
  mkdirSync(dir, { recursive: true })
  let before = new Set<string>()
  try {
    if (previous !== undefined) before = new Set(readdirSync(previous))
  } catch {
    // No previous generation (or one of an older layout): every bucket is written.
  }
  for (const { name, members } of buckets) {
    if (before.has(name)) {
      try {
        linkSync(join(previous!, name), join(dir, name))
        continue
      } catch {
        // Another file system or a link limit: write it instead.
      }
    }
    writeFileSync(join(dir, name), members.map((member) => lines(member.key)).join(''))
  }
}
