import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { ZregError } from '../errors.js'
import { DigestCounter, digestAlgorithm, type Digest } from '../oci/digest.js'
import type { LayoutStore } from '../store/layout-store.js'
import { BatchedFileWriter } from './batched-file-writer.js'

export interface UploadSession {
  id: string
  repository: string
}

const sessionIdPattern = /^[a-f0-9-]{36}$/

/**
 * Blob uploads in progress, each in its own directory under the store (`.zreg/uploads/<id>/`), so
 * concurrent uploads of the same blob never share a file, a restarted server resumes them, and a
 * finished one is published by one atomic rename. Bytes are hashed as they arrive; a restart loses only
 * the running hash, and the file is hashed again when it is finished.
 */
export class UploadSessions {
  private readonly root: string
  private readonly hashes = new Map<string, DigestCounter>()
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(private readonly store: LayoutStore) {
    this.root = join(store.location, '.zreg', 'uploads')
  }

  private dir(id: string): string {
    return join(this.root, id)
  }

  private dataPath(id: string): string {
    return join(this.dir(id), 'data')
  }

  /** Runs `work` after every earlier operation on the same session: one writer per upload. */
  private serialize<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous.then(work, work)
    this.queues.set(id, next.catch(() => undefined))
    return next
  }

  async create(repository: string): Promise<UploadSession> {
    const id = randomUUID()
    await mkdir(this.dir(id), { recursive: true })
    await writeFile(join(this.dir(id), 'session.json'), JSON.stringify({ repository, started: new Date().toISOString() }))
    await writeFile(this.dataPath(id), '')
    this.hashes.set(id, new DigestCounter())
    return { id, repository }
  }

  /** The session, which must belong to `repository`; BLOB_UPLOAD_UNKNOWN otherwise. */
  async get(id: string, repository: string): Promise<UploadSession> {
    const unknown = new ZregError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { detail: { uuid: id } })
    if (!sessionIdPattern.test(id)) throw unknown
    const text = await readFile(join(this.dir(id), 'session.json'), 'utf8').catch(() => undefined)
    if (text === undefined || (JSON.parse(text) as { repository?: string }).repository !== repository) throw unknown
    return { id, repository }
  }

  /** Bytes received so far. */
  async offset(session: UploadSession): Promise<number> {
    return (await stat(this.dataPath(session.id))).size
  }

  /**
   * Appends a chunk. `range`, when the client says which bytes the chunk carries (Content-Range): its
   * start must be the current offset (RANGE_INVALID otherwise), and the body must be exactly `length`
   * bytes (BODY_SIZE_INVALID otherwise); a refused chunk leaves the upload as it was. A body cut off by
   * the connection keeps what arrived, so the client can resume from the Range it is told.
   */
  append(session: UploadSession, body: Readable, range?: { start: number; length: number }): Promise<number> {
    return this.serialize(session.id, async () => {
      const offset = await this.offset(session)
      if (range !== undefined && range.start !== offset) {
        body.resume()
        throw new ZregError('RANGE_INVALID', `the chunk starts at ${range.start}, but the upload stands at ${offset}`, { detail: { offset } })
      }
      let counter = this.hashes.get(session.id)
      if (counter !== undefined && counter.size !== offset) counter = undefined
      this.hashes.delete(session.id)
      const running = counter
      const handle = await open(this.dataPath(session.id), 'r+')
      const writer = new BatchedFileWriter(handle, offset)
      let received = 0
      let refused: ZregError | undefined
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          received += chunk.length
          // Past the announced length the rest is read and dropped: the client still hears why.
          if (range !== undefined && received > range.length) continue
          running?.update(chunk)
          await writer.write(chunk)
        }
        if (range !== undefined && received !== range.length) {
          const what = received > range.length ? 'more than' : `only ${received} of`
          refused = new ZregError('BODY_SIZE_INVALID', `the chunk carries ${what} the ${range.length} bytes its Content-Range announces; it was not kept`, { detail: { offset } })
        }
        await writer.end()
      } finally {
        await writer.settle()
        // Bytes that contradict their Content-Range are no part of the upload: cut back to where it stood.
        if (refused !== undefined) await handle.truncate(offset)
        await handle.close()
      }
      if (refused !== undefined) throw refused
      const size = await this.offset(session)
      // A chunk cut off half way leaves a file the running hash no longer describes; hash it again later.
      if (running !== undefined && running.size === size) this.hashes.set(session.id, running)
      return size
    })
  }

  /**
   * Verifies the upload is `digest` and publishes it into the store; the session ends either way.
   * `beforePublish` runs once the bytes are verified, before they are published: push mode links the
   * blob to its repository there, so a `zreg gc` never sees it published and held by nothing.
   */
  finish(session: UploadSession, digest: Digest, beforePublish?: () => Promise<void>): Promise<{ digest: Digest; size: number }> {
    return this.serialize(session.id, async () => {
      const path = this.dataPath(session.id)
      const size = await this.offset(session)
      let counter = this.hashes.get(session.id)
      if (counter === undefined || counter.size !== size || counter.algorithm !== digestAlgorithm(digest)) {
        counter = new DigestCounter(digestAlgorithm(digest))
        for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) counter.update(chunk)
      }
      this.hashes.delete(session.id)
      const actual = counter.digest()
      try {
        if (actual !== digest) throw new ZregError('DIGEST_INVALID', `the upload hashes to ${actual}, not ${digest}`, { detail: { digest } })
        await beforePublish?.()
        await this.store.blobAdopt(path, digest)
        return { digest, size }
      } finally {
        await rm(this.dir(session.id), { recursive: true, force: true })
      }
    })
  }

  cancel(session: UploadSession): Promise<void> {
    return this.serialize(session.id, async () => {
      this.hashes.delete(session.id)
      await rm(this.dir(session.id), { recursive: true, force: true })
    })
  }

  /** Removes sessions nobody touched for `maxAgeMs` (abandoned uploads); returns how many. */
  async purge(maxAgeMs: number): Promise<number> {
    let purged = 0
    for (const id of await readdir(this.root).catch(() => [] as string[])) {
      const info = await stat(this.dataPath(id)).catch(() => undefined)
      if (info !== undefined && Date.now() - info.mtimeMs < maxAgeMs) continue
      await rm(this.dir(id), { recursive: true, force: true })
      this.hashes.delete(id)
      purged++
    }
    return purged
  }
}
