import { Transform, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { Decompress } from 'fzstd'

/** How a layer's bytes are compressed, as its first bytes say (never its name or its manifest). */
export type LayerCompression = 'gzip' | 'zstd' | 'none'

/** Bytes enough to tell the compressions apart. */
export const compressionMagicLength = 4

/** gzip is RFC 1952 (1f 8b), zstd RFC 8878 (frame magic 28 b5 2f fd); anything else is taken as a plain tar. */
export function detectCompression(head: Uint8Array): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd'
  return 'none'
}

/** zstd through fzstd (Node 20's zlib has none); a damaged frame fails the stream. */
class ZstdDecompress extends Transform {
  // fzstd hands out views it may reuse, so each block is copied before it is queued.
  private readonly decoder = new Decompress((block) => {
    if (block.length > 0) this.push(Buffer.from(block))
  })

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decoder.push(chunk)
      done()
    } catch (error) {
      done(error as Error)
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true)
      done()
    } catch (error) {
      done(error as Error)
    }
  }
}

/** A stream that turns a layer's bytes into the uncompressed tar (whose digest is the diff_id). */
export function createDecompressor(compression: Exclude<LayerCompression, 'none'>): Transform {
  return compression === 'gzip' ? createGunzip() : new ZstdDecompress()
}
