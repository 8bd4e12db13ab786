import pLimit from 'p-limit'
import { ZregError } from '../errors.js'
import { emptyRecord, isRecorded, parsePending, parseRecord, pendingName, recordedObject, recordName, serializeRecord, type PublishRecord } from './publish-record.js'
import { defaultPublishJobs, type PublishAction, type PublishOptions, type PublishSummary } from './publish-result.js'
import { maxCopySize, S3Bucket, type S3ConnectionOptions, type S3Location } from './s3-bucket.js'
import { publishStages, type PublishObject, type PublishPlan } from './tree-plan.js'

/** One write of a stage: upload the file, or copy an object already in the bucket with the same bytes. */
interface Write {
  object: PublishObject
  from?: string
}

/**
 * The writes of one stage. Objects with the same bytes (a blob in several repositories, a tag and its
 * manifest by digest) are uploaded once: copied from a key the bucket already holds when there is one
 * (`present`: digest -> key), else the first is uploaded and the rest copied from it (`after`).
 */
function stageWrites(objects: PublishObject[], present: Map<string, string>): { first: Write[]; after: Write[] } {
  const first: Write[] = []
  const after: Write[] = []
  const uploading = new Map<string, string>()
  for (const object of objects) {
    // The root files are a few bytes: a copy saves nothing there.
    const copyable = object.stage !== 'root' && object.size > 0 && object.size <= maxCopySize
    const from = copyable ? present.get(object.digest) : undefined
    if (from !== undefined) {
      first.push({ object, from })
      continue
    }
    const sibling = copyable ? uploading.get(object.digest) : undefined
    if (sibling !== undefined) {
      after.push({ object, from: sibling })
      continue
    }
    uploading.set(object.digest, object.key)
    first.push({ object })
  }
  return { first, after }
}

/**
 * Publishes the built tree to an S3 bucket: each file of the literal tree as an object under the prefix
 * with its Content-Type and Cache-Control. Only objects whose bytes or metadata differ from the record
 * of the last publish (PREFIX/.zreg-publish.json) are written, in the safe order of `publishStages`,
 * each stage finished before the next starts; then (with `delete`) what the tree no longer has; the
 * record last. Killed at any point, no tag names anything missing and a rerun finishes the job.
 * Errors: S3_ACCESS_DENIED, BUCKET_NOT_FOUND, CONNECTION_FAILED, HOST_UNKNOWN, PUBLISH_FAILED.
 */
export async function publishToS3(planned: PublishPlan | Promise<PublishPlan>, location: S3Location, connection: S3ConnectionOptions, options: PublishOptions = {}): Promise<PublishSummary> {
  const started = performance.now()
  const bucket = new S3Bucket(location, connection)
  try {
    // The bucket is checked and the record read while the plan is still being made.
    const reading = (async () => {
      await bucket.check()
      return Promise.all([bucket.readText(recordName), bucket.readText(pendingName)])
    })()
    reading.catch(() => {})
    const plan = await planned
    const [recordText, pendingText] = await reading
    let record = parseRecord(recordText)
    // Keys a killed publish was rewriting or deleting: the record no longer vouches for their bytes.
    const unsettled = parsePending(pendingText)
    for (const key of unsettled) delete record.objects[key]
    const listing = options.verify || options.delete ? await bucket.list() : undefined
    if (options.verify && listing !== undefined) record = verifiedRecord(record, listing)
    const wanted = new Set(plan.objects.map((object) => object.key))
    // Keys the bucket holds now with known bytes: sources for server-side copies until the deletions.
    const changed = plan.objects.filter((object) => !isRecorded(record, object))
    const rewritten = new Set(changed.map((object) => object.key))
    // Never a key this publish overwrites: its bytes change under the copy.
    const present = new Map<string, string>()
    for (const [key, entry] of Object.entries(record.objects)) if (!rewritten.has(key) && !present.has(entry.digest)) present.set(entry.digest, key)
    const staleKeys = new Set(Object.keys(record.objects).filter((key) => !wanted.has(key)))
    if (options.delete && listing !== undefined) for (const key of listing.keys()) if (!wanted.has(key) && key !== recordName && key !== pendingName) staleKeys.add(key)
    const deletions = options.delete ? [...staleKeys].sort() : []
    const summary: PublishSummary = { target: `s3://${location.bucket}/${location.prefix}`, dryRun: options.dryRun ?? false, uploaded: 0, copied: 0, skipped: plan.objects.length - changed.length, deleted: 0, bytes: 0, seconds: 0 }
    const stages = planStages(changed, new Map(present))
    if (options.dryRun) {
      const actions: PublishAction[] = []
      for (const { first, after } of stages) {
        for (const write of [...first, ...after]) {
          if (write.from === undefined) {
            actions.push({ action: 'upload', key: write.object.key, bytes: write.object.size })
            summary.uploaded++
            summary.bytes += write.object.size
          } else {
            actions.push({ action: 'copy', key: write.object.key, bytes: 0, from: write.from })
            summary.copied++
          }
        }
      }
      for (const key of deletions) actions.push({ action: 'delete', key, bytes: 0 })
      return { ...summary, deleted: deletions.length, actions, seconds: (performance.now() - started) / 1000 }
    }
    const totalBytes = stages.reduce((sum, { first }) => sum + first.reduce((bytes, write) => bytes + (write.from === undefined ? write.object.size : 0), 0), 0)
    const progress = { objects: 0, totalObjects: changed.length + deletions.length, bytes: 0, totalBytes }
    const report = () => options.onProgress?.({ ...progress })
    const limit = pLimit(options.jobs ?? defaultPublishJobs)
    // First the keys this publish rewrites or deletes, in a small object beside the record: killed part
    // way, the next run checks those keys again instead of trusting the record's bytes for them.
    const pending = [...new Set([...unsettled, ...[...rewritten].filter((key) => key in record.objects), ...deletions])].sort()
    if (pending.length > 0) await bucket.writeText(pendingName, JSON.stringify(pending), recordMetadata)
    const written: PublishRecord = { objects: { ...record.objects } }
    const run = async (write: Write) => {
      const { object } = write
      const metadata = { contentType: object.contentType, cacheControl: object.cacheControl }
      let copied = false
      if (write.from !== undefined) {
        // A record that outlived its object (someone deleted it): upload instead.
        copied = await bucket.copy(write.from, object.key, metadata).then(
          () => true,
          (error: ZregError) => (error.code === 'PUBLISH_FAILED' ? false : Promise.reject(error)),
        )
      }
      if (copied) summary.copied++
      else if (object.redirect !== undefined) {
        // A redirected blob: an empty object the bucket's website endpoint answers with a 301 to its target.
        await bucket.writeText(object.key, '', { ...metadata, websiteRedirectLocation: object.redirect.location })
        summary.uploaded++
      } else {
        await bucket.upload(object.key, object.file, object.size, metadata, (bytes) => {
          progress.bytes += bytes
          report()
        })
        summary.uploaded++
        summary.bytes += object.size
      }
      written.objects[object.key] = recordedObject(object)
      progress.objects++
      report()
    }
    for (const { first, after } of stages) {
      await Promise.all(first.map((write) => limit(() => run(write))))
      await Promise.all(after.map((write) => limit(() => run(write))))
    }
    if (deletions.length > 0) {
      await bucket.delete(deletions)
      for (const key of deletions) delete written.objects[key]
      summary.deleted = deletions.length
      progress.objects += deletions.length
      report()
    }
    // The record last, and only when something was written: an unchanged tree writes nothing at all.
    if (changed.length > 0 || deletions.length > 0 || unsettled.length > 0) await bucket.writeText(recordName, serializeRecord(written), recordMetadata)
    if (pending.length > 0 || unsettled.length > 0) await bucket.delete([pendingName])
    return { ...summary, seconds: (performance.now() - started) / 1000 }
  } finally {
    bucket.destroy()
  }
}

const recordMetadata = { contentType: 'application/json', cacheControl: 'no-cache' }

/** The writes of each stage in order; a stage may copy from what an earlier one writes. */
function planStages(changed: PublishObject[], present: Map<string, string>): { first: Write[]; after: Write[] }[] {
  return publishStages.map((stage) => {
    const objects = changed.filter((object) => object.stage === stage)
    const writes = stageWrites(objects, present)
    for (const object of objects) if (!present.has(object.digest)) present.set(object.digest, object.key)
    return writes
  })
}

/** The record without the objects the listing lacks or holds with another size: those are sent again. */
function verifiedRecord(record: PublishRecord, listing: Map<string, number>): PublishRecord {
  const kept = emptyRecord()
  for (const [key, entry] of Object.entries(record.objects)) if (listing.get(key) === entry.size) kept.objects[key] = entry
  return kept
}
