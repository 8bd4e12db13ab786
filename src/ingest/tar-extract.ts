import { createReadStream } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import tar from 'tar-stream'
import { ZregError } from '../errors.js'

/**
 * The path an archive entry may be written to, or an UNSAFE_PATH error: absolute names and `..`
 * components would let an archive write outside the directory it is unpacked into (tar-slip).
 */
export function safeEntryPath(name: string): string {
  const normalized = posix.normalize(name.replace(/\\/g, '/'))
  if (name.includes('\0') || posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new ZregError('UNSAFE_PATH', `archive entry "${name}" points outside the archive`)
  }
  return normalized.replace(/\/+$/, '')
}

/** True when the file starts with the gzip magic (so `.tar.gz` archives and gzipped layers are known). */
export async function isGzipFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new ZregError('SOURCE_NOT_FOUND', `no such file: ${file}`)
    throw error
  })
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new ZregError('SOURCE_INVALID', `${file} is a directory, not an archive (for a layout directory, use oci:)`)
    throw error
  } finally {
    await handle.close()
  }
}

/**
 * Unpacks the tar (or gzipped tar) at `file` into `dir`, refusing links and entries that escape it.
 * A truncated or non-tar input is ARCHIVE_INVALID.
 */
export async function extractTar(file: string, dir: string): Promise<number> {
  const gzipped = await isGzipFile(file)
  const input = createReadStream(file)
  const extract = tar.extract()
  let entries = 0
  const consume = (async () => {
    for await (const entry of extract) {
      const header = entry.header
      const path = safeEntryPath(header.name)
      if (header.type === 'symlink' || header.type === 'link') {
        throw new ZregError('UNSAFE_PATH', `archive entry "${header.name}" is a link (${header.linkname ?? ''}); image archives need none`)
      }
      entries++
      if (header.type === 'directory') {
        await mkdir(join(dir, path), { recursive: true })
        entry.resume()
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        const target = join(dir, path)
        await mkdir(dirname(target), { recursive: true })
        const handle = await open(target, 'w')
        await pipeline(entry, handle.createWriteStream())
      } else {
        entry.resume()
      }
    }
  })()
  try {
    await Promise.all([gzipped ? pipeline(input, createGunzip(), extract) : pipeline(input, extract), consume])
  } catch (error) {
    extract.destroy()
    input.destroy()
    if (error instanceof ZregError) throw error
    throw new ZregError('ARCHIVE_INVALID', `${file} is not a complete tar archive: ${(error as Error).message}`, { cause: error })
  }
  if (entries === 0) throw new ZregError('ARCHIVE_INVALID', `${file} holds no files`)
  return entries
}
