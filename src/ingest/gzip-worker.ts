import { closeSync, fdatasync, fsyncSync, openSync, readSync, writevSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { DigestCounter } from '../oci/digest.js'
import { serveJobs } from '../workers/serve-jobs.js'
import type { GzipJob, GzipResult } from './gzip-pool.js'
import { compressBlock, dictionaryAfter, dictionaryBytes, gzipEnd, gzipHeader } from './parallel-gzip.js'

/** Bytes written between two flushes started while writing. */
const flushBytes = 16 * 1024 * 1024

/** Reads `length` bytes at `position` into `buffer` (fewer only at the end of the file). */
function readFull(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0
  while (done < length) {
    const bytesRead = readSync(fd, buffer, done, length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done
}

/** Writes every piece, continuing after a short write. */
function writeAll(fd: number, pieces: Buffer[]): void {
  let rest = pieces
  while (rest.length > 0) {
    let written = writevSync(fd, rest)
    const next: Buffer[] = []
    for (const piece of rest) {
      if (written >= piece.length) written -= piece.length
      else {
        next.push(written === 0 ? piece : piece.subarray(written))
        written = 0
      }
    }
    rest = next
  }
}

/**
 * Gzips `size` bytes of `file` from `offset` into the new file `temp`, exactly as ParallelGzip does
 * (the same blocks and choices, from the same functions), hashing the plain bytes (the diff_id) and
 * the gzip (the blob digest) on the way, then fsyncs it. Plain loops rather than streams: this thread
 * does nothing else, so blocking reads and writes cost no more than their copy, and the block
 * buffers are reused instead of left for the garbage collector (each worker is a heap of its own).
 * While writing it starts an fdatasync every `flushBytes` (one at a time, on libuv's pool), so the
 * disk writes the file while the rest is computed instead of all of it in the final fsync.
 */
async function gzipToFile(job: GzipJob): Promise<GzipResult> {
  const { blockSize, parallel, level } = job.gzip
  const plain = new DigestCounter()
  const gzipped = new DigestCounter()
  const input = openSync(job.file, 'r')
  let output: number | undefined
  let flushing: Promise<void> | undefined
  try {
    output = openSync(job.temp, 'wx')
    const out = output
    let unflushed = 0
    const write = (pieces: Buffer[]) => {
      for (const piece of pieces) gzipped.update(piece)
      writeAll(out, pieces)
      for (const piece of pieces) unflushed += piece.length
      if (unflushed >= flushBytes && flushing === undefined) {
        unflushed = 0
        flushing = new Promise<void>((resolve, reject) => fdatasync(out, (error) => (error ? reject(error) : resolve()))).finally(() => (flushing = undefined))
        // Its failure, if any, is the final fsync's too; meanwhile it must not count as unhandled.
        flushing.catch(() => undefined)
      }
    }
    write([gzipHeader()])
    // Block buffers and dictionaries go back here once their block is written, for the next blocks.
    const free: Buffer[] = []
    const freeTails: Buffer[] = []
    const running: { buffer: Buffer; tailBuffer: Buffer | undefined; pieces: Promise<Buffer[]> }[] = []
    const finishOne = async () => {
      const { buffer, tailBuffer, pieces } = running.shift()!
      write(await pieces)
      free.push(buffer)
      if (tailBuffer !== undefined) freeTails.push(tailBuffer)
    }
    let crc = 0
    let previousTail: Buffer | undefined
    let previousTailBuffer: Buffer | undefined
    for (let at = 0; at < job.size; at += blockSize) {
      const buffer = free.pop() ?? Buffer.allocUnsafe(blockSize)
      const length = Math.min(blockSize, job.size - at)
      const read = readFull(input, buffer, length, job.offset + at)
      if (read < length) throw new Error(`${job.file} ends ${job.size - at - read} bytes before the layer does: it changed while it was read`)
      const block = buffer.subarray(0, length)
      plain.update(block)
      crc = crc32(block, crc)
      // The trial deflate of each block runs here: this thread has nothing else to do meanwhile.
      const pieces = compressBlock(block, previousTail, level, { syncTrial: true })
      pieces.catch(() => undefined)
      running.push({ buffer, tailBuffer: previousTailBuffer, pieces })
      previousTailBuffer = freeTails.pop() ?? Buffer.allocUnsafe(dictionaryBytes)
      previousTail = dictionaryAfter(block, previousTailBuffer)
      if (running.length >= parallel) await finishOne()
    }
    while (running.length > 0) await finishOne()
    write(gzipEnd(crc, job.size))
    await flushing
    fsyncSync(out)
  } finally {
    await flushing?.catch(() => undefined)
    closeSync(input)
    if (output !== undefined) closeSync(output)
  }
  return { digest: gzipped.digest(), size: gzipped.size, diffId: plain.digest() }
}

serveJobs(gzipToFile)
