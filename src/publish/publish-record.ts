import type { PublishObject } from './tree-plan.js'

/**
 * What the last publish wrote to a target, kept in the target (`PREFIX/.zreg-publish.json`) so the
 * next publish sends only what changed. Object key (relative to the prefix) -> what was written there.
 */
export interface PublishRecord {
  format: 1
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

export function emptyRecord(): PublishRecord {
  return { format: 1, objects: {} }
}

export function recordedObject(object: PublishObject): RecordedObject {
  return { size: object.size, digest: object.digest, contentType: object.contentType, cacheControl: object.cacheControl }
}

/** True when the target already holds exactly `object` (bytes and metadata) at its key. */
export function isRecorded(record: PublishRecord, object: PublishObject): boolean {
  const found = record.objects[object.key]
  return found !== undefined && found.size === object.size && found.digest === object.digest && found.contentType === object.contentType && found.cacheControl === object.cacheControl
}

/** A record read from a target: anything not of this shape counts as no record (everything is sent again). */
export function parseRecord(text: string | undefined): PublishRecord {
  if (text === undefined) return emptyRecord()
  try {
    const value = JSON.parse(text) as PublishRecord
    return value.format === 1 && typeof value.objects === 'object' && value.objects !== null ? value : emptyRecord()
  } catch {
    return emptyRecord()
  }
}
