import { Transform, type TransformCallback } from 'node:stream'
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib'

export interface ParallelGzipOptions {
  /** zlib level, 0 to 9. */
  level: number
  /** Bytes of input per block; each block is compressed on its own (1 MiB as pgzip). */
  blockSize: number
  /** Blocks compressed at once, on libuv's thread pool; memory is about 2 x parallel x blockSize. */
  parallel: number
}

/** As pgzip: each block is primed with the input's previous 32 KiB, so matches can reach back across blocks. */
export const dictionaryBytes = 32 * 1024

/** The gzip header: deflate, no flags, no name, mtime 0, OS unknown-Unix (3). */
export function gzipHeader(): Buffer {
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03])
}

/** An empty final block that closes the deflate stream, then CRC-32 and size mod 2^32, little-endian. */
export function gzipEnd(crc: number, size: number): Buffer[] {
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc >>> 0, 0)
  trailer.writeUInt32LE(size % 2 ** 32, 4)
  return [deflateRawSync(Buffer.alloc(0)), trailer]
}

function deflateBlock(block: Buffer, options: { level: number; dictionary?: Buffer | undefined }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A sync flush ends the block on a byte boundary without marking it last, so blocks concatenate.
    const { level, dictionary } = options
    // One output chunk of deflate's worst-case size: zlib's default 16 KiB chunks cost a callback and a copy each.
    const chunkSize = Math.max(constants.Z_MIN_CHUNK, block.length + (block.length >> 8) + 1024)
    deflateRaw(block, { level, chunkSize, finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary ? { dictionary } : {}) }, (error, out) => (error ? reject(error) : resolve(out)))
  })
}

/** Four 8 KiB samples spread over the block, taken together. */
const sampleBytes = 8 * 1024
const samples = 4

/**
 * The block as deflate stored blocks (RFC 1951 3.2.4: a byte-aligned header with BFINAL 0 and BTYPE
 * 00, LEN and its complement, then up to 65535 raw bytes): what zlib's level 0 writes, without
 * copying the data through zlib.
 */
function storedBlocks(block: Buffer): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0; at < block.length; at += 0xffff) {
    const data = block.subarray(at, at + 0xffff)
    const header = Buffer.alloc(5)
    header.writeUInt16LE(data.length, 1)
    header.writeUInt16LE(~data.length & 0xffff, 3)
    pieces.push(header, data)
  }
  return pieces
}

/** compressBlock's samples when the trial runs synchronously: used and done with before the call returns. */
const syncSample = Buffer.allocUnsafe(samples * sampleBytes)

/**
 * Compresses one block. Data that does not compress (already compressed files, random bytes) is
 * stored instead: zlib spends as long failing to compress it as compressing text, and the result
 * is no smaller (klauspost/compress, under pgzip, skips such data the same way). Samples of the
 * block tell, so the choice, and the output, depend only on the block's bytes.
 */
export async function compressBlock(block: Buffer, dictionary: Buffer | undefined, level: number, options: { syncTrial?: boolean } = {}): Promise<Buffer[]> {
  if (block.length >= samples * sampleBytes * 2) {
    const step = Math.floor(block.length / samples)
    // The same deflate either way (only the output's length is used): in this thread (no buffers
    // left behind but the output), or on libuv's pool.
    if (options.syncTrial) {
      for (let i = 0; i < samples; i++) block.copy(syncSample, i * sampleBytes, i * step, i * step + sampleBytes)
      const chunkSize = syncSample.length + (syncSample.length >> 8) + 1024
      const trial = deflateRawSync(syncSample, { level: 1, chunkSize, finishFlush: constants.Z_SYNC_FLUSH })
      if (trial.length >= syncSample.length * 0.98) return storedBlocks(block)
    } else {
      const sample = Buffer.concat(Array.from({ length: samples }, (_, i) => block.subarray(i * step, i * step + sampleBytes)))
      const trial = await deflateBlock(sample, { level: 1 })
      if (trial.length >= sample.length * 0.98) return storedBlocks(block)
    }
  }
  return [await deflateBlock(block, { level, dictionary })]
}

/** The last 32 KiB of `block` (all of a shorter one), copied into `into` when given: the next block's deflate dictionary. */
export function dictionaryAfter(block: Buffer, into?: Buffer): Buffer {
  const length = Math.min(block.length, dictionaryBytes)
  const tail = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length)
  block.copy(tail, 0, block.length - length)
  return tail
}

/**
 * gzip (RFC 1952, one member) whose deflate data is compressed in fixed-size blocks side by side, as
 * pgzip (which skopeo and podman use) does: one zlib stream is about 30 MiB/s on incompressible
 * layers, one per core is not. The output depends only on the input and the options (so layers stay
 * reproducible); header: no name, mtime 0.
 */
export class ParallelGzip extends Transform {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private previousTail: Buffer | undefined
  private readonly jobs: Promise<Buffer[]>[] = []
  private crc = 0
  private size = 0

  constructor(private readonly options: ParallelGzipOptions) {
    super()
    this.push(gzipHeader())
  }

  private startBlock(block: Buffer): void {
    this.crc = crc32(block, this.crc)
    this.size = (this.size + block.length) % 2 ** 32
    const job = compressBlock(block, this.previousTail, this.options.level)
    // Awaited in order by drainTo; until then a failure must not count as unhandled.
    job.catch(() => undefined)
    this.jobs.push(job)
    this.previousTail = dictionaryAfter(block)
  }

  /** Pushes finished blocks, in order, until at most `keep` are still running. */
  private async drainTo(keep: number): Promise<void> {
    while (this.jobs.length > keep) for (const piece of await this.jobs.shift()!) this.push(piece)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const { blockSize, parallel } = this.options
    let rest = chunk
    while (rest.length > 0) {
      const take = Math.min(rest.length, blockSize - this.pendingBytes)
      this.pending.push(rest.subarray(0, take))
      this.pendingBytes += take
      rest = rest.subarray(take)
      if (this.pendingBytes === blockSize) {
        this.startBlock(this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes))
        this.pending = []
        this.pendingBytes = 0
      }
    }
    this.drainTo(parallel - 1).then(() => done(), done)
  }

  override _flush(done: TransformCallback): void {
    if (this.pendingBytes > 0) this.startBlock(Buffer.concat(this.pending, this.pendingBytes))
    this.drainTo(0).then(() => {
      for (const piece of gzipEnd(this.crc, this.size)) this.push(piece)
      done()
    }, done)
  }
}
