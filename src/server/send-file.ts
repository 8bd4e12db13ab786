import { open, readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import parseRange from 'range-parser'
import { ZregError } from '../errors.js'
import type { SiteFile } from './site-reader.js'

/** Files this small (manifests, tag lists) are kept in memory; a generation's files never change. */
const cacheLimit = 64 * 1024
/** At most this many cached files (about 64 MiB at worst); past it the cache starts again. */
const cacheEntries = 1024
const streamChunk = 256 * 1024

export type SmallFileCache = Map<string, Buffer>

/** Content-addressed files are cached by digest, so a manifest shared by tags and repositories is held once. */
export async function readSmall(file: SiteFile, cache: SmallFileCache): Promise<Buffer> {
  if (file.bytes) return file.bytes
  const key = file.headers.digest ?? file.path!
  let bytes = cache.get(key)
  if (bytes === undefined) {
    bytes = await readFile(file.path!)
    if (cache.size >= cacheEntries) cache.clear()
    cache.set(key, bytes)
  }
  return bytes
}

function startsPastEnd(header: string, size: number): boolean {
  return header
    .replace(/^bytes=/, '')
    .split(',')
    .some((range) => {
      const [first] = range.trim().split('-')
      return first !== undefined && first !== '' && Number(first) >= size
    })
}

/** Resolves when `chunk` has been handed to the socket, so its buffer may be reused. */
function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    // A client that goes away may leave the write callback uncalled; 'close' settles it instead.
    const gone = () => reject(new Error('the client closed the connection'))
    res.once('close', gone)
    res.write(chunk, (error) => {
      res.off('close', gone)
      if (error) reject(error)
      else resolve()
    })
  })
}

/**
 * Streams bytes start..end of a file with two buffers per response: one is read while the other is
 * written, and neither is reused before the socket took it. Memory per download stays at two chunks
 * however large the blob or slow the client, and no garbage is made per chunk.
 */
async function streamRange(path: string, start: number, end: number, res: ServerResponse): Promise<void> {
  const handle = await open(path, 'r')
  try {
    const buffers = [Buffer.allocUnsafe(streamChunk), Buffer.allocUnsafe(streamChunk)]
    let inFlight: Promise<void> | undefined
    let turn = 0
    for (let position = start; position <= end; turn ^= 1) {
      const buffer = buffers[turn]!
      const { bytesRead } = await handle.read(buffer, 0, Math.min(streamChunk, end - position + 1), position)
      if (bytesRead === 0) throw new ZregError('BLOB_UNKNOWN', `${path} is shorter than its recorded length`)
      position += bytesRead
      if (res.destroyed) return
      await inFlight
      inFlight = write(res, buffer.subarray(0, bytesRead))
      // Its failure is taken up at the next await; until then it must not count as unhandled.
      inFlight.catch(() => undefined)
    }
    await inFlight
    res.end()
  } finally {
    await handle.close()
  }
}

/**
 * Sends a tree file with its recorded headers: HEAD without reading it, one Range as 206, an
 * unsatisfiable one as 416, several as the whole file (RFC 9110 allows ignoring them).
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: SiteFile, cache: SmallFileCache): Promise<void> {
  const size = file.headers.length
  let start = 0
  let end = size - 1
  let status = 200
  res.setHeader('Content-Type', file.headers.contentType)
  res.setHeader('Accept-Ranges', 'bytes')
  const header = req.headers.range
  if (header !== undefined) {
    const ranges = parseRange(size, header, { combine: true })
    // Unsatisfiable only when a range starts past the end; a malformed one (5-2) is ignored (RFC 9110).
    if (ranges === -1 && startsPastEnd(header, size)) {
      res.statusCode = 416
      res.setHeader('Content-Range', `bytes */${size}`)
      res.end()
      return
    }
    if (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1) {
      start = ranges[0]!.start
      end = ranges[0]!.end
      status = 206
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)
    }
  }
  res.statusCode = status
  res.setHeader('Content-Length', size === 0 ? 0 : end - start + 1)
  if (req.method === 'HEAD' || size === 0) {
    res.end()
    return
  }
  try {
    if (size <= cacheLimit || file.bytes) {
      res.end((await readSmall(file, cache)).subarray(start, end + 1))
      return
    }
    await streamRange(file.path!, start, end, res)
  } catch (error) {
    if (!res.headersSent) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ZregError('BLOB_UNKNOWN', 'the file was removed from the tree (a newer build); retry')
      }
      throw error
    }
    // Past the headers nothing can be said to the client but a cut connection; a client that went
    // away is no error worth logging.
    if (!res.destroyed) console.error(`zreg: sending ${file.path} failed: ${(error as Error).message}`)
    res.destroy()
  }
}
