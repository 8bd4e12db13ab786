import type { MapBucket } from './map-buckets.js'

/**
 * One bucket's share (planMapBuckets' buckets) of each file of a generation that names every
 * repository, as the bytes written.
 */
export interface BucketTexts {
  /** What they were made from: the bucket (its repositories, in order), and their tag counts. */
  bucket: MapBucket
  counts: readonly number[]
  /** `"name":"key"` pairs joined by commas: site.json's `repositories`. */
  repositories: Buffer
  /** `"name":"input"` pairs: site.json's `inputs`. */
  inputs: Buffer
  /** Each key and a newline: the keys file. */
  keys: Buffer
  /** nginx's repos.map lines. */
  reposMap: Buffer
  /** `"name":count` pairs: the refs memo's `tags`. */
  tags: Buffer
}

/**
 * A generation's texts bucket by bucket (index -> texts; none for an empty bucket), for `count`
 * buckets. Kept with the live generation in this process, so the next build makes the texts of the
 * buckets whose repositories changed and copies the others' bytes: with 10,000 repositories, making
 * the 1.6 MB site manifest, the keys file and repos.map whole took 40-50 ms of a one-tag rebuild.
 */
export interface GenerationTexts {
  count: number
  buckets: readonly (BucketTexts | undefined)[]
}

function sameBucket(texts: BucketTexts, bucket: MapBucket, tags: ReadonlyMap<string, number>): boolean {
  const members = bucket.members
  if (texts.bucket.hash !== bucket.hash || texts.bucket.members.length !== members.length) return false
  for (let i = 0; i < members.length; i++) {
    const before = texts.bucket.members[i]!
    const now = members[i]!
    if (before.name !== now.name || before.key !== now.key || before.input !== now.input || texts.counts[i] !== (tags.get(now.name) ?? 0)) return false
  }
  return true
}

function makeBucket(bucket: MapBucket, tags: ReadonlyMap<string, number>): BucketTexts {
  const members = bucket.members
  const counts = members.map((member) => tags.get(member.name) ?? 0)
  const names = members.map((member) => JSON.stringify(member.name))
  return {
    bucket,
    counts,
    repositories: Buffer.from(members.map((member, i) => `${names[i]}:"${member.key}"`).join(',')),
    inputs: Buffer.from(members.map((member, i) => `${names[i]}:"${member.input}"`).join(',')),
    keys: Buffer.from(members.map((member) => `${member.key}\n`).join('')),
    reposMap: Buffer.from(members.map((member) => `"/v2/${member.name}" ${member.key};\n`).join('')),
    tags: Buffer.from(members.map((member, i) => `${names[i]}:${counts[i]}`).join(',')),
  }
}

/**
 * The texts of a generation split as `buckets`, taking each bucket whose repositories (names, keys,
 * inputs and tag counts) are those of `previous`'s bucket from it as it is.
 */
export function generationTexts(count: number, buckets: readonly MapBucket[], tags: ReadonlyMap<string, number>, previous: GenerationTexts | undefined): GenerationTexts {
  const reusable = previous?.count === count ? previous.buckets : []
  const made: (BucketTexts | undefined)[] = Array.from({ length: count }, () => undefined)
  for (const bucket of buckets) {
    const before = reusable[bucket.index]
    made[bucket.index] = before !== undefined && sameBucket(before, bucket, tags) ? before : makeBucket(bucket, tags)
  }
  return { count, buckets: made }
}

/** One of the texts, whole: the buckets' parts in bucket order, joined by `separator`. */
export function joinedText(texts: GenerationTexts, part: 'repositories' | 'inputs' | 'keys' | 'reposMap' | 'tags', separator?: Buffer): Buffer[] {
  const parts: Buffer[] = []
  for (const bucket of texts.buckets) {
    if (bucket === undefined) continue
    if (separator !== undefined && parts.length > 0) parts.push(separator)
    parts.push(bucket[part])
  }
  return parts
}

/** The repository directories a generation written from `texts` uses. */
export function* keysOf(texts: GenerationTexts): Iterable<string> {
  for (const bucket of texts.buckets) for (const member of bucket?.bucket.members ?? []) yield member.key
}
