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
 * Writes `parts` one after the other as UTF-8, through one reused buffer, in writes of up to its size:
 * a Buffer of a whole large text (45 MB for the index.json of 100,000 tags) cost a page fault per 4 KiB
 * here, 300-600 ms against 40 ms, and a write of each small part a round trip to the thread pool.
 * encodeInto never splits a character: what does not fit goes into the next fill.
 */
async function writeText(handle: FileHandle, parts: Iterable<string>): Promise<void> {
  let buffer: Buffer | undefined
  let filled = 0
  const flush = async () => {
    for (let done = 0; done < filled; ) done += (await handle.write(buffer!, done, filled - done)).bytesWritten
    filled = 0
  }
  const encoder = new TextEncoder()
  for (const text of parts) {
    // Sized by the first part: a small file gets a small buffer.
    buffer ??= Buffer.allocUnsafe(Math.min(textChunkBytes, Math.max(64 * 1024, text.length * 3)))
    for (let at = 0; at < text.length; ) {
      const { read, written } = encoder.encodeInto(at === 0 ? text : text.slice(at), buffer.subarray(filled))
      filled += written
      at += read
      // Full (or too full for the next character, which takes up to 4 bytes).
      if (at < text.length || buffer.length - filled < 4) await flush()
    }
  }
  await flush()
}

/**
 * Writes `data` to `path` so that readers see the old content or the new, never a part. `data` may be
 * a text made part by part (an iterable of strings, each made when it is written), so a large one is
 * never whole in memory. `mode`: the file's permissions before the umask (default 0o666).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<string>, options: { fsync?: boolean; mode?: number } = {}): Promise<void> {
  const temp = tempPathBeside(path)
  const fsync = options.fsync ?? true
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o666)
    try {
      await (typeof data === 'string' ? writeText(handle, [data]) : data instanceof Uint8Array ? handle.writeFile(data) : writeText(handle, data))
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
