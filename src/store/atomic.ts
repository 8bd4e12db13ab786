import { randomUUID } from 'node:crypto'
import { existsSync, fdatasync, type WriteStream } from 'node:fs'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * `mkdir -p` that fails with the real reason: a recursive mkdir answers ENOENT when a parent it has to
 * make sits on a read-only file system or in a directory it may not write, which would send the user
 * looking for a typo. On ENOENT the first missing directory is made alone, which throws EROFS or EACCES.
 */
export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    let first = resolve(path)
    while (dirname(first) !== first && !existsSync(dirname(first))) first = dirname(first)
    await mkdir(first)
    throw error
  }
}

/** A temp name beside `path`, so the final rename stays on one file system and is atomic. */
export function tempPathBeside(path: string): string {
  // randomUUID draws from a cached pool of entropy: a build names thousands of these (randomBytes: 15 µs each).
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`)
}

/** Flushes a file written through a stream (fsync works on any descriptor of the file). */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Bytes written between two background flushes of a file (see WriteBehind). */
const writeBehindBytes = 16 * 1024 * 1024

/**
 * Flushes a file in the background while a stream writes it: after every 16 MiB the stream has
 * written, an fdatasync on libuv's pool (one at a time), so the disk writes the file while the rest
 * arrives, and the final fsync has little left to do. Measured on a 300 MiB six-layer registry
 * copy, that final fsync took 0.16-0.18 s. A flush's failure is the final fsync's too.
 */
export class WriteBehind {
  private fd: number | undefined
  private flushedAt = 0
  private flushing: Promise<void> | undefined

  constructor(private readonly file: WriteStream) {
    file.once('open', (fd: number) => (this.fd = fd))
    file.once('close', () => (this.fd = undefined))
  }

  /** Call as the stream goes; starts a flush when enough is written since the last. */
  poke(): void {
    const fd = this.fd
    if (this.flushing !== undefined || fd === undefined || this.file.bytesWritten - this.flushedAt < writeBehindBytes) return
    this.flushedAt = this.file.bytesWritten
    this.flushing = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).finally(() => (this.flushing = undefined))
  }

  /** Waits for the flush in flight, before the file is closed or fsynced. */
  async settled(): Promise<void> {
    await this.flushing
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Bytes of the buffer a large text goes out through. */
const textChunkBytes = 1024 * 1024

/**
 * Writes `text` as UTF-8. A large one goes out through one reused buffer: a Buffer of the whole text
 * (45 MB for the index.json of 100,000 tags) cost a page fault per 4 KiB here, 300-600 ms against
 * 40 ms. encodeInto never splits a character across two chunks.
 */
async function writeText(handle: FileHandle, text: string): Promise<void> {
  if (text.length <= textChunkBytes) return handle.writeFile(text)
  const buffer = Buffer.allocUnsafe(textChunkBytes)
  const encoder = new TextEncoder()
  for (let at = 0; at < text.length; ) {
    const { read, written } = encoder.encodeInto(text.slice(at), buffer)
    for (let done = 0; done < written; ) done += (await handle.write(buffer, done, written - done)).bytesWritten
    at += read
  }
}

/** Writes `data` to `path` so that readers see the old content or the new, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { fsync?: boolean } = {}): Promise<void> {
  const temp = tempPathBeside(path)
  const fsync = options.fsync ?? true
  try {
    const handle = await open(temp, 'wx')
    try {
      await (typeof data === 'string' ? writeText(handle, data) : handle.writeFile(data))
      if (fsync) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    if (fsync) await fsyncDirectory(dirname(path))
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}
