import { isAscii } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { closeSync, createWriteStream, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { digestTransform } from './digest-transform.js'
import { systemError, ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, DigestCounter, isDigest, type Digest } from '../oci/digest.js'
import { configPlatformOf, isImageConfig, maxManifestBytes, type Descriptor } from '../oci/manifest.js'
import { isImageManifest, MediaTypes } from '../oci/media-types.js'
import { addedAnnotation, refNameAnnotation } from '../oci/annotations.js'
import { isRepository, isTag } from '../oci/reference.js'
import { incomingCollision } from '../oci/tree-collisions.js'
import { fsyncDirectory, fsyncFile, makeDirectory, tempPathBeside, writeFileAtomic, WriteBehind } from './atomic.js'
import { claimBlob } from './blob-claims.js'
import { findDebris, removeDebris, removeOwnStagingSync, stagingRoot, type Debris } from './debris.js'
import { indexVersion, journalChanges, journalWrite, type IndexVersion } from './index-journal.js'
import { indexTextParts } from './index-text.js'
import { withLock } from './lock.js'
import { thisProcessOwner } from './process-owner.js'
import type { ExpectedBlob, LocalBlobPaths, PutBlobResult, StagedFiles, Store, StoreStaging, StoredRef } from './store.js'

export { addedAnnotation, refNameAnnotation }
/** Untagged manifests a repository keeps (pushed by digest, referrers) carry their repository here. */
export const repositoryAnnotation = 'dev.zreg.repository'

const layoutMarker = { imageLayoutVersion: '1.0.0' }

interface IndexJson {
  schemaVersion: 2
  mediaType: string
  manifests: Descriptor[]
}

/** `repository:tag`, or `repository@digest` for an untagged manifest: what identifies a reference. */
export function refKey(ref: { repository: string; tag?: string; descriptor?: { digest: string }; digest?: string }): string {
  return ref.tag !== undefined ? `${ref.repository}:${ref.tag}` : `${ref.repository}@${ref.descriptor?.digest ?? ref.digest}`
}

function toStoredRef(entry: Descriptor): StoredRef | undefined {
  const name = entry.annotations?.[refNameAnnotation]
  if (name !== undefined) {
    const colon = name.lastIndexOf(':')
    const repository = name.slice(0, colon)
    const tag = name.slice(colon + 1)
    return colon > name.lastIndexOf('/') && isRepository(repository) && isTag(tag) ? { repository, tag, descriptor: entry } : undefined
  }
  const repository = entry.annotations?.[repositoryAnnotation]
  return repository !== undefined && isRepository(repository) ? { repository, descriptor: entry } : undefined
}

/** Refs made from an entry of index.json as zreg wrote it: their descriptor is their entry already. */
const inIndexForm = new WeakSet<StoredRef>()

/** The last of an object's keys in order, without making a list of them. */
function lastKey(object: object): string | undefined {
  let last: string | undefined
  for (const key in object) last = key
  return last
}

/**
 * Whether a ref read from index.json is in the form toIndexEntry gives it (what zreg writes: the
 * annotations last, its one name annotation last among them), so its entry is its descriptor as read.
 */
function readInIndexForm(ref: StoredRef): boolean {
  const { annotations } = ref.descriptor
  if (annotations === undefined || lastKey(ref.descriptor) !== 'annotations') return false
  return ref.tag !== undefined ? !(repositoryAnnotation in annotations) && lastKey(annotations) === refNameAnnotation : lastKey(annotations) === repositoryAnnotation
}

function toIndexEntry(ref: StoredRef): Descriptor {
  if (inIndexForm.has(ref)) return ref.descriptor
  const { annotations = {}, ...rest } = ref.descriptor
  // Copied without the two names (not deleted from a copy: an object with deleted keys is slow for the
  // JSON.stringify of the whole index), then the one this ref has.
  const own: Record<string, string> = Object.fromEntries(Object.entries(annotations).filter(([key]) => key !== refNameAnnotation && key !== repositoryAnnotation))
  if (ref.tag !== undefined) own[refNameAnnotation] = `${ref.repository}:${ref.tag}`
  else own[repositoryAnnotation] = ref.repository
  return { ...rest, annotations: own }
}

/** The ref with one annotation of its descriptor set (a source's own value of it is not kept). */
function withAnnotation(ref: StoredRef, key: string, value: string): StoredRef {
  return { ...ref, descriptor: { ...ref.descriptor, annotations: { ...ref.descriptor.annotations, [key]: value } } }
}

/** Repository name -> its tags. */
function tagsByRepository(refs: Iterable<StoredRef>): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>()
  for (const ref of refs) {
    const tags = names.get(ref.repository) ?? new Set<string>()
    if (ref.tag !== undefined) tags.add(ref.tag)
    names.set(ref.repository, tags)
  }
  return names
}

/**
 * Refuses refs whose names the static tree could not hold beside the stored ones (see
 * tree-collisions.ts), so a name that would break the build is never committed.
 */
function checkTreeNames(stored: Iterable<StoredRef>, refs: StoredRef[]): void {
  const collision = incomingCollision(tagsByRepository(stored), refs)
  if (collision === undefined) return
  const ref =
    refs.find((candidate) => candidate.repository === collision.repository) ??
    refs.find((candidate) => candidate.repository === collision.enclosing && (collision.tag === undefined || candidate.tag === collision.tag))!
  throw new ZregError('NAME_COLLISION', `cannot store ${refKey(ref)}: ${collision.reason}; the registry tree cannot hold both names, so use another repository name or tag`, {
    detail: { name: ref.repository, ...(ref.tag === undefined ? {} : { tag: ref.tag }) },
  })
}

/** The order refList() returns: by repository, then tag (untagged manifests by digest). */
export function compareRefs(a: StoredRef, b: StoredRef): number {
  if (a.repository !== b.repository) return a.repository < b.repository ? -1 : 1
  const ka = a.tag ?? `@${a.descriptor.digest}`
  const kb = b.tag ?? `@${b.descriptor.digest}`
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The store as an OCI image layout directory: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. */
export class LayoutStore implements Store, LocalBlobPaths {
  readonly location: string
  /**
   * The index as this instance last wrote it, under the version (index-journal.ts) the file had then.
   * The next write through it (push mode writes after every push, tag and delete) starts from it
   * instead of reading and parsing the file again: with 100,000 tags, 42 MB and a third of each write.
   * A write by anyone else changes the version, and the file is read.
   */
  private written?: { version: IndexVersion; refs: ReadonlyMap<string, StoredRef>; foreign: readonly Descriptor[] }

  private constructor(location: string) {
    this.location = location
  }

  /** Where the store's index.json lives: one place (a stack lists each of its stores'). */
  get locations(): readonly string[] {
    return [this.location]
  }

  /** Opens the layout at `dir`, creating an empty one when the directory is missing or empty. */
  static async open(dir: string, options: { create?: boolean } = {}): Promise<LayoutStore> {
    const store = new LayoutStore(dir)
    const marker = await readFile(join(dir, 'oci-layout'), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      if (error.code === 'ENOTDIR') {
        if (isFile(dir)) throw new ZregError('STORE_INVALID', `${dir} is a file, not a store directory`)
        // A parent of the store is a file: name the store path the user gave, not a file inside it.
        Object.assign(error, { path: dir })
      }
      throw systemError(error) ?? new ZregError('STORE_INVALID', `cannot read ${dir}/oci-layout: ${error.message}`)
    })
    if (marker === undefined) {
      const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[]
        throw systemError(error) ?? error
      })
      if (entries.length > 0) {
        // Another process may have just renamed a new store into place.
        if (existsSync(join(dir, 'oci-layout'))) return LayoutStore.open(dir, options)
        throw new ZregError('STORE_INVALID', `${dir} is not empty and has no oci-layout file`)
      }
      if (options.create === false) throw new ZregError('STORE_NOT_FOUND', `there is no store at ${dir}`)
      await LayoutStore.create(dir)
      return LayoutStore.open(dir, { create: false })
    }
    let version: unknown
    try {
      version = (JSON.parse(marker) as { imageLayoutVersion?: unknown }).imageLayoutVersion
    } catch {
      version = undefined
    }
    if (version !== '1.0.0') throw new ZregError('STORE_INVALID', `${dir}/oci-layout is not an OCI layout 1.0.0 marker`)
    return store
  }

  /**
   * Writes an empty layout beside `dir` and renames it into place, so a concurrent process sees either
   * no store or a whole one; when another process won the race, its store is used.
   */
  private static async create(dir: string): Promise<void> {
    const temp = tempPathBeside(dir)
    await makeDirectory(dirname(dir))
    // A read-only or forbidden parent is the store's problem: name the store, not the temp directory.
    await mkdir(temp).catch((error: NodeJS.ErrnoException) => {
      throw Object.assign(error, { path: dir })
    })
    try {
      await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true })
      const empty: IndexJson = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] }
      await writeFileAtomic(join(temp, 'index.json'), `${JSON.stringify(empty, null, 2)}\n`)
      await writeFileAtomic(join(temp, 'oci-layout'), JSON.stringify(layoutMarker))
      // rename() replaces an empty directory and fails on a non-empty one (another process's store).
      await rename(temp, dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
      })
    } finally {
      await rm(temp, { recursive: true, force: true })
    }
  }

  /**
   * Removes a store this process created that nothing was committed to (no reference, no blob, no other
   * process staging into it), and then `createdRoot`, the first of its parents that did not exist before,
   * with every empty directory between: a failed first `zreg add` leaves nothing behind.
   * Returns false, touching nothing, when the store is in use. Synchronous, as `stagingAbandon`.
   */
  removeIfUnused(createdRoot: string): boolean {
    const entries = (path: string): string[] => {
      try {
        return readdirSync(path)
      } catch {
        return []
      }
    }
    let references: number
    try {
      references = (JSON.parse(readFileSync(join(this.location, 'index.json'), 'utf8')) as IndexJson).manifests.length
    } catch {
      return false
    }
    if (references > 0 || entries(join(this.location, 'blobs', 'sha256')).length > 0 || entries(join(this.location, stagingRoot)).length > 0) return false
    rmSync(this.location, { recursive: true, force: true })
    // Parents only while empty: rmdir refuses a directory someone else put something into meanwhile.
    for (let dir = dirname(resolve(this.location)), root = resolve(createdRoot); dir.startsWith(root); dir = dirname(dir)) {
      try {
        rmdirSync(dir)
      } catch {
        break
      }
      if (dir === root) break
    }
    return true
  }

  blobPath(digest: Digest): string {
    return join(this.location, 'blobs', digestAlgorithm(digest), digestHex(digest))
  }

  async blobStat(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async blobRead(digest: Digest, range?: { start: number; end: number }): Promise<Readable> {
    // Open first so a missing blob is an error here, not an 'error' event on the stream later.
    const handle = await open(this.blobPath(digest), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is not in the store`)
      throw error
    })
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {})
  }

  /**
   * Publishes a file whose content the caller verified to be `digest` (a finished upload), by an atomic
   * rename into place; when the blob is already stored the file is dropped. The file must be on the
   * store's file system (under its .zreg/ directory).
   */
  async blobAdopt(path: string, digest: Digest): Promise<void> {
    await fsyncFile(path)
    const dir = join(this.location, 'blobs', digestAlgorithm(digest))
    await mkdir(dir, { recursive: true })
    if ((await this.blobStat(digest)) !== undefined) {
      await rm(path, { force: true })
      return
    }
    // Identical bytes under one name: if another upload won the race, either copy is the blob.
    await rename(path, this.blobPath(digest))
    await fsyncDirectory(dir)
  }

  /** Removes a blob (push-mode DELETE of one no manifest references). */
  async blobDelete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true })
  }

  /** Small reads (manifests, configs) are synchronous: the thread-pool round trip costs more than the read. */
  async blobBytes(digest: Digest, maxBytes: number): Promise<Buffer> {
    let fd: number
    try {
      fd = openSync(this.blobPath(digest), 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ZregError('BLOB_UNKNOWN', `blob ${digest} is not in the store`)
      throw error
    }
    try {
      const { size } = fstatSync(fd)
      if (size > maxBytes) throw new ZregError('MANIFEST_TOO_LARGE', `blob ${digest} is ${size} bytes, over the ${maxBytes}-byte limit`)
      const bytes = Buffer.allocUnsafe(size)
      return bytes.subarray(0, readSync(fd, bytes, 0, size, 0))
    } finally {
      closeSync(fd)
    }
  }

  private async readIndex(): Promise<IndexJson> {
    // One synchronous read: fs/promises reads a large file in chunks and decodes each through a
    // StringDecoder, which costs more than the read itself (10,000 tags: 2.7 MB, 15 ms against 1 ms).
    // An ASCII index (what zreg writes, unless an annotation holds other characters) decodes as latin1
    // into memory the next read reuses; a fresh UTF-8 string of megabytes costs a page fault per 4 KiB.
    let text: string
    try {
      const bytes = readFileSync(join(this.location, 'index.json'))
      text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
    } catch (error) {
      throw new ZregError('STORE_INVALID', `${this.location} has no readable index.json: ${(error as Error).message}`)
    }
    try {
      const index = JSON.parse(text) as IndexJson
      if (!Array.isArray(index.manifests)) throw new Error('no manifests array')
      return index
    } catch (error) {
      throw new ZregError('STORE_INVALID', `${this.location}/index.json is not a valid OCI index: ${(error as Error).message}`)
    }
  }

  async refList(): Promise<StoredRef[]> {
    const index = await this.readIndex()
    return index.manifests.map(toStoredRef).filter((ref): ref is StoredRef => ref !== undefined).sort(compareRefs)
  }

  /** refList(), with the version of index.json it read (undefined when the file changed during the read). */
  async versionedRefList(): Promise<{ refs: StoredRef[]; version: IndexVersion | undefined }> {
    const path = join(this.location, 'index.json')
    const version = indexVersion(path)
    const refs = await this.refList()
    return { refs, version: version === indexVersion(path) ? version : undefined }
  }

  /**
   * The repositories whose references changed since index version `since` (name -> its references now,
   * in refList order; none: gone), and the version now; undefined when only reading the whole index
   * can tell (a write the journal did not record, or none since that version). See index-journal.ts.
   */
  refChangesSince(since: IndexVersion): { version: IndexVersion; repositories: Map<string, StoredRef[]> } | undefined {
    const version = indexVersion(join(this.location, 'index.json'))
    if (version === undefined) return undefined
    const repositories = journalChanges(this.location, since, version)
    return repositories === undefined ? undefined : { version, repositories }
  }

  /** Read-modify-write of index.json under its lock; entries zreg does not understand are kept as they are. */
  async updateIndex(change: (refs: Map<string, StoredRef>) => void): Promise<void> {
    await withLock(join(this.location, 'index.json.lock'), async () => {
      const indexPath = join(this.location, 'index.json')
      const version = indexVersion(indexPath)
      const current = version !== undefined && this.written?.version === version ? this.written : await this.readRefs()
      // `before` is never changed: the kept refs, or the ones just read.
      const before = current.refs
      const refs = new Map(before)
      change(refs)
      // What a build reads instead of the whole index next time (index-journal.ts): the change touches
      // the repositories of the references `change` set or deleted (the others are the same objects).
      const touched = new Set<string>()
      for (const [key, ref] of refs) if (before.get(key) !== ref) touched.add(ref.repository)
      for (const [key, ref] of before) if (!refs.has(key)) touched.add(ref.repository)
      // Each ref as the file will hold it (the entry is its descriptor), as a read would give it: the
      // next write through this store starts from these. Refs already in that form are kept as they are.
      for (const [key, ref] of refs) {
        if (inIndexForm.has(ref)) continue
        const entry = toStoredRef(toIndexEntry(ref))!
        inIndexForm.add(entry)
        refs.set(key, entry)
      }
      const sorted = [...refs.values()].sort(compareRefs)
      this.written = undefined
      await writeFileAtomic(indexPath, indexTextParts({ schemaVersion: 2, mediaType: MediaTypes.OciIndex }, [current.foreign, sorted.map((ref) => ref.descriptor)]))
      const repositories = new Map([...touched].map((name) => [name, [] as StoredRef[]]))
      for (const ref of sorted) repositories.get(ref.repository)?.push(ref)
      const now = indexVersion(indexPath)
      journalWrite(this.location, version, now, repositories)
      if (now !== undefined) this.written = { version: now, refs, foreign: current.foreign }
    })
  }

  /** The refs of index.json (by refKey), and the entries zreg does not understand. */
  private async readRefs(): Promise<{ refs: ReadonlyMap<string, StoredRef>; foreign: readonly Descriptor[] }> {
    const index = await this.readIndex()
    const foreign: Descriptor[] = []
    const refs = new Map<string, StoredRef>()
    for (const entry of index.manifests) {
      const ref = toStoredRef(entry)
      if (ref === undefined) {
        foreign.push(entry)
        continue
      }
      refs.set(refKey(ref), ref)
      if (readInIndexForm(ref)) inIndexForm.add(ref)
    }
    return { refs, foreign }
  }

  async refDelete(refs: { repository: string; tag?: string; digest?: Digest }[]): Promise<void> {
    await this.updateIndex((current) => {
      for (const ref of refs) current.delete(refKey(ref))
    })
  }

  /** Starts an ingest in its own staging directory, first removing what dead processes left (`debris.ts`). */
  async stage(): Promise<StoreStaging> {
    const root = join(this.location, stagingRoot)
    await mkdir(root, { recursive: true })
    await removeDebris(this.location)
    const dir = join(root, `${thisProcessOwner}-${randomBytes(6).toString('hex')}`)
    await mkdir(dir)
    return new LayoutStaging(this, dir)
  }

  /**
   * Drops this process's staging directories at once: for a process interrupted by a signal. Synchronous,
   * so nothing else of this process (an add still copying into them) runs before it exits.
   */
  stagingAbandon(): void {
    removeOwnStagingSync(this.location)
  }

  /** What interrupted processes left in the store (staging directories, temp files); see `debris.ts`. */
  async debrisList(): Promise<Debris[]> {
    return findDebris(this.location)
  }
}

class LayoutStaging implements StoreStaging, StagedFiles {
  private readonly staged = new Map<Digest, { path: string; size: number }>()
  /** Stored blobs this ingest relies on, claimed so a concurrent `zreg gc` keeps them (blob-claims.ts). */
  private readonly claimed = new Set<Digest>()
  private counter = 0
  private closed = false

  constructor(
    private readonly store: LayoutStore,
    private readonly dir: string,
  ) {}

  async blobPut(source: Readable, expected: ExpectedBlob = {}): Promise<PutBlobResult> {
    if (this.closed) throw new ZregError('INTERNAL', 'staging area already committed or aborted')
    const temp = join(this.dir, `${this.counter++}.part`)
    const counter = new DigestCounter(expected.digest ? digestAlgorithm(expected.digest) : 'sha256')
    // Room for a few large chunks (archives are read 512 KiB at a time), so the write of one overlaps the hashing of the next.
    const file = createWriteStream(temp, { flags: 'wx', highWaterMark: 2 * 1024 * 1024 })
    const writeBehind = new WriteBehind(file)
    try {
      try {
        await pipeline(
          source,
          digestTransform(counter, () => {
            // Stop early rather than write gigabytes that can only be refused.
            if (expected.size !== undefined && counter.size > expected.size) {
              throw new ZregError('SIZE_INVALID', `blob is larger than the ${expected.size} bytes its descriptor declares`)
            }
            writeBehind.poke()
          }),
          file,
        )
      } finally {
        await writeBehind.settled()
      }
      await fsyncFile(temp)
    } catch (error) {
      await rm(temp, { force: true })
      // A stream's write error names no file; ENOSPC or EIO should still say where.
      throw systemError(error, temp) ?? error
    }
    const digest = counter.digest()
    const size = counter.size
    try {
      if (expected.size !== undefined && size !== expected.size) {
        throw new ZregError('SIZE_INVALID', `blob ${expected.digest ?? digest} is ${size} bytes, but its descriptor declares ${expected.size}`)
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new ZregError('DIGEST_INVALID', `content expected to be ${expected.digest} hashes to ${digest}`)
      }
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
    return this.keep(temp, { digest, size })
  }

  /** Claims a stored blob before this ingest looks for it, once per digest (blob-claims.ts). */
  private claim(digest: Digest): void {
    if (this.claimed.has(digest)) return
    claimBlob(this.dir, digest)
    this.claimed.add(digest)
  }

  /** Records a verified temp file as the blob, or drops it when the blob is staged or stored already. */
  private async keep(temp: string, blob: PutBlobResult): Promise<PutBlobResult> {
    const { digest, size } = blob
    if (!this.staged.has(digest)) this.claim(digest)
    if (this.staged.has(digest) || (await this.store.blobStat(digest)) !== undefined) await rm(temp, { force: true })
    else this.staged.set(digest, { path: temp, size })
    return { digest, size }
  }

  async stagedFilePath(): Promise<string> {
    if (this.closed) throw new ZregError('INTERNAL', 'staging area already committed or aborted')
    return join(this.dir, `${this.counter++}.part`)
  }

  async blobPutStaged(path: string, blob: PutBlobResult): Promise<PutBlobResult> {
    try {
      if (this.closed) throw new ZregError('INTERNAL', 'staging area already committed or aborted')
      if (dirname(path) !== this.dir) throw new ZregError('INTERNAL', `${path} is not a file of this staging area`)
      const { size } = await stat(path)
      if (size !== blob.size) throw new ZregError('SIZE_INVALID', `blob ${blob.digest} is ${size} bytes on disk, but its writer counted ${blob.size}`)
    } catch (error) {
      await rm(path, { force: true })
      throw systemError(error, path) ?? error
    }
    return this.keep(path, blob)
  }

  async blobStat(digest: Digest): Promise<number | undefined> {
    const staged = this.staged.get(digest)
    if (staged !== undefined) return staged.size
    // An ingest that finds a blob stored skips it: from here on it relies on the blob staying.
    this.claim(digest)
    return this.store.blobStat(digest)
  }

  async blobBytes(digest: Digest, maxBytes: number): Promise<Buffer> {
    const staged = this.staged.get(digest)
    if (staged === undefined) return this.store.blobBytes(digest, maxBytes)
    if (staged.size > maxBytes) throw new ZregError('MANIFEST_TOO_LARGE', `blob ${digest} is ${staged.size} bytes, over the ${maxBytes}-byte limit`)
    try {
      return await readFile(staged.path)
    } catch (error) {
      // A commit({ keepOpen }) of another image published it meanwhile: it is in the store now.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.store.blobBytes(digest, maxBytes)
      throw error
    }
  }

  async scratchDirectory(): Promise<string> {
    const dir = join(this.dir, `scratch-${this.counter++}`)
    await mkdir(dir)
    return dir
  }

  async commit(refs: StoredRef[], options: { keepOpen?: boolean } = {}): Promise<void> {
    if (this.closed) throw new ZregError('INTERNAL', 'staging area already committed or aborted')
    for (const ref of refs) {
      if ((await this.blobStat(ref.descriptor.digest)) === undefined) {
        throw new ZregError('MANIFEST_BLOB_UNKNOWN', `${ref.repository} would reference ${ref.descriptor.digest}, which is not stored`)
      }
    }
    // Checked before a blob is published, and again under the index lock against concurrent writers.
    if (refs.length > 0) checkTreeNames(await this.store.refList(), refs)
    refs = await Promise.all(refs.map((ref) => this.withPlatform(ref)))
    // Published below before the index names them: claimed first, so a concurrent gc keeps them.
    for (const digest of this.staged.keys()) this.claim(digest)
    const touched = new Set<string>()
    for (const [digest, { path: temp }] of this.staged) {
      const final = this.store.blobPath(digest)
      const dir = join(this.store.location, 'blobs', digestAlgorithm(digest))
      if (!touched.has(dir)) await mkdir(dir, { recursive: true })
      touched.add(dir)
      // Another writer may have published the same digest meanwhile; identical bytes, so either copy wins.
      if ((await this.store.blobStat(digest)) === undefined) await rename(temp, final)
      else await rm(temp, { force: true })
      this.staged.delete(digest)
    }
    for (const dir of touched) await fsyncDirectory(dir)
    if (refs.length > 0) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      await this.store.updateIndex((current) => {
        checkTreeNames(current.values(), refs)
        for (const ref of refs) {
          // Stored again as it was (the same digest): it keeps the time it was first added.
          const before = current.get(refKey(ref))
          const kept = before?.descriptor.digest === ref.descriptor.digest ? before.descriptor.annotations?.[addedAnnotation] : undefined
          current.set(refKey(ref), withAnnotation(ref, addedAnnotation, kept ?? now))
        }
      })
    }
    if (!options.keepOpen) await this.abort()
  }

  /**
   * The ref with its image's platform (from the config) on its descriptor, as an image index may carry it,
   * so a build need not read every config again. Indexes, artifacts and unreadable configs: as it was.
   */
  private async withPlatform(ref: StoredRef): Promise<StoredRef> {
    const { platform: _, ...descriptor } = ref.descriptor
    if (!isImageManifest(descriptor.mediaType)) return ref
    try {
      const manifest = JSON.parse((await this.blobBytes(descriptor.digest, maxManifestBytes)).toString('utf8')) as { config?: { mediaType?: string; digest?: string } }
      const config = manifest.config
      if (config?.mediaType === undefined || !isImageConfig(config.mediaType) || config.digest === undefined || !isDigest(config.digest)) return { ...ref, descriptor }
      const platform = configPlatformOf(await this.blobBytes(config.digest, maxManifestBytes))
      return { ...ref, descriptor: platform === undefined ? descriptor : { ...descriptor, platform } }
    } catch {
      return { ...ref, descriptor }
    }
  }

  async abort(): Promise<void> {
    this.closed = true
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** The first directory on the way to `dir` (or `dir` itself) that does not exist: what creating it creates. */
export async function firstMissingDirectory(dir: string): Promise<string | undefined> {
  let missing: string | undefined
  for (let path = resolve(dir); ; path = dirname(path)) {
    if (await stat(path).then(() => true, () => false)) return missing
    missing = path
    if (dirname(path) === path) return missing
  }
}
