import { createCipheriv, createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { MiB } from '../support/stats.js'

const key = createHash('sha256').update('zreg-bench-fixed-key').digest()
const chunkBytes = 4 * MiB

/**
 * `size` deterministic, incompressible bytes named by `seed`: an AES-256-CTR keystream with a fixed key
 * and the seed's hash as IV (about 1 GB/s), in chunks of 4 MiB.
 */
export function keystream(seed: string, size: number): Readable {
  const iv = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-256-ctr', key, iv)
  const zero = Buffer.alloc(Math.min(chunkBytes, size))
  function* chunks(): Generator<Buffer> {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, chunkBytes)
      yield cipher.update(n === zero.length ? zero : zero.subarray(0, n))
      left -= n
    }
  }
  return Readable.from(chunks())
}
