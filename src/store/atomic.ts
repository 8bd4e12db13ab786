import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
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
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
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

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes `data` to `path` so that readers see the old content or the new, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { fsync?: boolean } = {}): Promise<void> {
  const temp = tempPathBeside(path)
  const fsync = options.fsync ?? true
  try {
    const handle = await open(temp, 'wx')
    try {
      await handle.writeFile(data)
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
