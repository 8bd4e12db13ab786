import type { Readable } from 'node:stream'
import type { Digest } from '../oci/digest.js'
import type { Descriptor } from '../oci/manifest.js'

/** A name the store keeps a manifest under: a tag, or (tag undefined) a repository's untagged manifest. */
export interface StoredRef {
  repository: string
  tag?: string
  descriptor: Descriptor
  /** Read through a stack: the name (directory name) of the overlay store it comes from; absent from the base. */
  source?: string
}

/** What a blob must turn out to be; a mismatch is refused. */
export interface ExpectedBlob {
  digest?: Digest
  size?: number
}

export interface PutBlobResult {
  digest: Digest
  size: number
}

/** Content-addressed reads, the GET side of /v2/<name>/blobs and /manifests by digest. */
export interface BlobReader {
  /** Size of the blob, or undefined when the store does not hold it. */
  blobStat(digest: Digest): Promise<number | undefined>
  /** The blob's bytes as a stream; rejects with BLOB_UNKNOWN when absent. */
  blobRead(digest: Digest, range?: { start: number; end: number }): Promise<Readable>
  /** A small blob (a manifest or config) read whole; refuses one larger than maxBytes. */
  blobBytes(digest: Digest, maxBytes: number): Promise<Buffer>
}

/**
 * Blobs on their way into the store. Nothing here is visible to readers until commit(): a failed
 * ingest calls abort() and the store is as it was.
 */
export interface StoreStaging {
  /**
   * Streams `source` into the staging area, hashing and counting as it goes. Rejects with
   * DIGEST_INVALID / SIZE_INVALID when the content does not match `expected`; a nil error means the
   * content will be stored at the returned digest on commit.
   */
  blobPut(source: Readable, expected?: ExpectedBlob): Promise<PutBlobResult>
  /** Size of the blob staged here or already in the store, or undefined. */
  blobStat(digest: Digest): Promise<number | undefined>
  /** A small blob (a manifest or config) staged here or already stored, read whole; BLOB_UNKNOWN when neither. */
  blobBytes(digest: Digest, maxBytes: number): Promise<Buffer>
  /** A private directory on the store's file system (a gzipped archive is decompressed into it: gzip cannot be read by offset), removed with the staging. */
  scratchDirectory(): Promise<string>
  /**
   * Publishes the staged blobs (each an atomic rename), then records `refs` in the index under the lock.
   * Rejects with NAME_COLLISION, recording no ref, when a ref's name could not be held in
   * the static tree beside the stored ones (oci/tree-collisions.ts). The staging is closed after, unless
   * `keepOpen`: then it takes more blobs for a later commit (a sync commits image by image, and blobs
   * staged for an image still in flight are published early: verified, and unreferenced until then).
   */
  commit(refs: StoredRef[], options?: { keepOpen?: boolean }): Promise<void>
  /** Drops everything staged. Safe to call after commit or twice. */
  abort(): Promise<void>
}

/**
 * Optional ability of a staging area: a blob file written by another writer (a worker thread), that
 * hashed and counted the bytes as they streamed into the file and fsynced it. The file lives inside
 * the staging area, so it is removed with it on abort, and published by the same rename on commit.
 */
export interface StagedFiles {
  /** A fresh path inside the staging area (on the store's file system) for one blob file; nothing is there yet. */
  stagedFilePath(): Promise<string>
  /**
   * Registers the file at `path` (from stagedFilePath) as the blob `blob` that its writer measured.
   * Rejects with SIZE_INVALID when the file does not hold `blob.size` bytes; removes the file on any
   * failure, and when the blob is already staged or stored. A nil error means as for blobPut.
   */
  blobPutStaged(path: string, blob: PutBlobResult): Promise<PutBlobResult>
}

export function hasStagedFiles(staging: object): staging is StagedFiles {
  const candidate = staging as Partial<StagedFiles>
  return typeof candidate.stagedFilePath === 'function' && typeof candidate.blobPutStaged === 'function'
}

/** What a build reads: the references and the blobs (one store, or a stack of them: store-stack.ts). */
export interface RefReader extends BlobReader {
  readonly location: string
  /** Every reference, sorted by repository then tag. */
  refList(): Promise<StoredRef[]>
}

/** The store: blobs by digest plus named references, as an OCI image layout holds them. */
export interface Store extends RefReader {
  /** Starts an ingest. */
  stage(): Promise<StoreStaging>
  /** Removes references (a tag, or an untagged manifest by digest); blobs stay until gc. */
  refDelete(refs: { repository: string; tag?: string; digest?: Digest }[]): Promise<void>
}

/** Optional ability: blobs are files, so a build can hard-link them instead of copying bytes. */
export interface LocalBlobPaths {
  blobPath(digest: Digest): string
}

export function hasLocalBlobPaths(store: object): store is LocalBlobPaths {
  return typeof (store as Partial<LocalBlobPaths>).blobPath === 'function'
}

/** Optional ability: the store can list what interrupted processes left in it (for `zreg verify`). */
export interface DebrisList {
  debrisList(): Promise<{ path: string; bytes: number }[]>
}

export function hasDebrisList(store: object): store is DebrisList {
  return typeof (store as Partial<DebrisList>).debrisList === 'function'
}

/**
 * Optional ability: references read by difference (index-journal.ts). A reader remembers the version
 * it read, and next time gets only the repositories changed since.
 */
export interface VersionedRefs {
  versionedRefList(): Promise<{ refs: StoredRef[]; version: string | undefined }>
  refChangesSince(since: string): { version: string; repositories: Map<string, StoredRef[]> } | undefined
}

export function hasVersionedRefs(store: object): store is VersionedRefs {
  return typeof (store as Partial<VersionedRefs>).refChangesSince === 'function'
}
