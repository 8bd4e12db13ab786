import assert from 'node:assert/strict'
import { createHash, createCipheriv } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { gzipFileRange } from '../../src/ingest/gzip-pool.js'
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

test('gzipFileRange (a worker thread) writes the same bytes as ParallelGzip and hashes both sides', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zreg-gzip-'))
  try {
    const gzipOptions = { level: 6, blockSize, parallel: 3 }
    const input = Buffer.concat([noise(blockSize * 2 + 100), text(blockSize * 3), noise(5000)])
    const before = Buffer.from('a header that is not part of the layer')
    const file = join(dir, 'archive')
    await writeFile(file, Buffer.concat([before, input, Buffer.from('trailing bytes')]))
    for (const [i, range] of [input, input.subarray(0, 0), input.subarray(0, blockSize)].entries()) {
      const temp = join(dir, `${i}.part`)
      const result = await gzipFileRange({ file, offset: before.length, size: range.length, temp, gzip: gzipOptions })
      const expected = await buffer(Readable.from([range]).pipe(new ParallelGzip(gzipOptions)))
      const written = await readFile(temp)
      assert.deepEqual(written, expected, `range ${i}`)
      assert.equal(result.size, expected.length)
      assert.equal(result.digest, `sha256:${createHash('sha256').update(expected).digest('hex')}`)
      assert.equal(result.diffId, `sha256:${createHash('sha256').update(range).digest('hex')}`)
    }
    await assert.rejects(gzipFileRange({ file, offset: 0, size: 10, temp: join(dir, '0.part'), gzip: gzipOptions }), { code: 'EEXIST' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
