import assert from 'node:assert/strict'
import { createHash, createCipheriv } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { ParallelGzip } from '../../src/ingest/parallel-gzip.js'

const blockSize = 64 * 1024

/** Incompressible but reproducible bytes (an AES-CTR keystream). */
function noise(size: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16)).update(Buffer.alloc(size))
}

function text(size: number): Buffer {
  return Buffer.from('the same line, over and over, as in a tar of text files\n'.repeat(Math.ceil(size / 56))).subarray(0, size)
}

async function gzip(input: Buffer, chunk = 10_000): Promise<Buffer> {
  const pieces: Buffer[] = []
  for (let at = 0; at < input.length; at += chunk) pieces.push(input.subarray(at, at + chunk))
  return buffer(Readable.from(pieces).pipe(new ParallelGzip({ level: 6, blockSize, parallel: 3 })))
}

test('ParallelGzip writes one gzip member that gunzips to the input, the same bytes every time', async () => {
  for (const size of [0, 1, blockSize - 1, blockSize, blockSize + 1, Math.floor(blockSize * 3.5), blockSize * 8]) {
    for (const [kind, input] of [['noise', noise(size)], ['text', text(size)]] as const) {
      const out = await gzip(input)
      assert.deepEqual(gunzipSync(out), input, `${kind} ${size}`)
      assert.equal(createHash('sha256').update(await gzip(input, 777)).digest('hex'), createHash('sha256').update(out).digest('hex'), `${kind} ${size}: chunking does not change the bytes`)
      if (kind === 'text' && size > blockSize) assert.ok(out.length < input.length / 10, 'text compresses across blocks')
      if (kind === 'noise') assert.ok(out.length < input.length * 1.01 + 64, 'noise is stored, not inflated')
    }
  }
})
