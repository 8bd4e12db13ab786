import type { PublishObject } from './tree-plan.js'

/**
 * What the last publish wrote to a target, kept in the target (`PREFIX/.zreg-publish.json`) so the
 * next publish sends only what changed. Object key (relative to the prefix) -> what was written there.
 */
export interface PublishRecord {
  objects: Record<string, RecordedObject>
}

export interface RecordedObject {
  /** Bytes. */
  size: number
  /** `sha256:<hex>` of the bytes. */
  digest: string
  contentType: string
  cacheControl: string
}

/** The record's name inside the target, beside `v2/` (a dot file: not part of the registry API). */
export const recordName = '.zreg-publish.json'

/**
 * Beside the record while a publish writes: the keys it rewrites or deletes (a JSON array), so a
 * publish killed part way leaves the record vouching only for keys it did not touch. A few bytes,
 * where rewriting the record itself first would send megabytes (a 10,000-tag site records 33,000 keys).
 */
export const pendingName = '.zreg-publish.pending.json'

/** The keys a pending object names; anything else counts as none. */
export function parsePending(text: string | undefined): string[] {
  if (text === undefined) return []
  try {
    const keys = JSON.parse(text) as unknown
    return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : []
  } catch {
    return []
  }
}

export function emptyRecord(): PublishRecord {
  return { objects: {} }
}

export function recordedObject(object: PublishObject): RecordedObject {
  return { size: object.size, digest: object.digest, contentType: object.contentType, cacheControl: object.cacheControl }
}

/** True when the target already holds exactly `object` (bytes and metadata) at its key. */
export function isRecorded(record: PublishRecord, object: PublishObject): boolean {
  const found = record.objects[object.key]
  return found !== undefined && found.size === object.size && found.digest === object.digest && found.contentType === object.contentType && found.cacheControl === object.cacheControl
}

/**
 * The record as stored: a site of 10,000 tags has some 30,000 objects, so each is one short array,
 * `[size, digest, content type, cache control]`: the digest empty when the key ends with it (blobs,
 * manifests by digest), the two headers as indexes into lists of the distinct values.
 */
interface StoredRecord {
  format: 2
  contentTypes: string[]
  cacheControls: string[]
  objects: Record<string, [number, string, number, number]>
}

/** The record's text, as stored in the target. */
export function serializeRecord(record: PublishRecord): string {
  const contentTypes = new Map<string, number>()
  const cacheControls = new Map<string, number>()
  const indexOf = (values: Map<string, number>, value: string) => {
    if (!values.has(value)) values.set(value, values.size)
    return values.get(value)!
  }
  const objects: StoredRecord['objects'] = {}
  for (const [key, entry] of Object.entries(record.objects)) {
    objects[key] = [entry.size, key.endsWith(`/${entry.digest}`) ? '' : entry.digest, indexOf(contentTypes, entry.contentType), indexOf(cacheControls, entry.cacheControl)]
  }
  const stored: StoredRecord = { format: 2, contentTypes: [...contentTypes.keys()], cacheControls: [...cacheControls.keys()], objects }
  return JSON.stringify(stored)
}

/** A record read from a target: anything not of this shape counts as no record (everything is sent again). */
export function parseRecord(text: string | undefined): PublishRecord {
  if (text === undefined) return emptyRecord()
  try {
    const stored = JSON.parse(text) as StoredRecord
    if (stored.format !== 2 || typeof stored.objects !== 'object' || stored.objects === null) return emptyRecord()
    const record = emptyRecord()
    for (const [key, [size, digest, contentType, cacheControl]] of Object.entries(stored.objects)) {
      record.objects[key] = { size, digest: digest === '' ? key.slice(key.lastIndexOf('/') + 1) : digest, contentType: stored.contentTypes[contentType] ?? '', cacheControl: stored.cacheControls[cacheControl] ?? '' }
    }
    return record
  } catch {
    return emptyRecord()
  }
}
