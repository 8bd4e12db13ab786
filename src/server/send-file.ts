import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import parseRange from 'range-parser'
import { ZregError } from '../errors.js'
import type { SiteFile } from './site-reader.js'

/** Files this small (manifests, tag lists) are kept in memory; a generation's files never change. */
const cacheLimit = 64 * 1024
const streamChunk = 1024 * 1024

export type SmallFileCache = Map<string, Buffer>

async function readSmall(path: string, cache: SmallFileCache): Promise<Buffer> {
  let bytes = cache.get(path)
  if (bytes === undefined) {
    bytes = await readFile(path)
    cache.set(path, bytes)
  }
  return bytes
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
    if (ranges === -1) {
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
    if (size <= cacheLimit) {
      res.end((await readSmall(file.path, cache)).subarray(start, end + 1))
      return
    }
    await pipeline(createReadStream(file.path, { start, end, highWaterMark: streamChunk }), res)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !res.headersSent) {
      throw new ZregError('BLOB_UNKNOWN', 'the file was removed from the tree; rebuild or retry')
    }
    // A client that goes away mid-body is not an error worth more than closing the socket.
    res.destroy()
  }
}
