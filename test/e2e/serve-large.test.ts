import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { zregOk } from '../helpers/cli.js'
import { rawRequest } from '../helpers/http.js'
import { makeLargeImage, type LargeImage } from '../helpers/large-image.js'
import { tempDir } from '../helpers/paths.js'
import { startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

describe('zreg serve streams large blobs', () => {
  let image: LargeImage
  let server: TestServer & { process: { exitCode?: number | null } }
  let path: string
  before(async () => {
    const dir = await tempDir('large')
    // Several streaming chunks, and an odd size so the last chunk is partial.
    image = await makeLargeImage(dir, 3 * 1024 * 1024 + 12345)
    await zregOk(['add', `oci:${image.layout}`, '--store', join(dir, 'store')])
    await zregOk(['build', '--store', join(dir, 'store'), '--out', join(dir, 'site')])
    server = await startZregServe(join(dir, 'site'))
    path = `/v2/big/blob/blobs/${image.layer.digest}`
  })
  after(async () => server?.stop())

  test('a whole blob arrives with its digest and length', async () => {
    const response = await rawRequest(server.url, 'GET', path)
    assert.equal(response.status, 200)
    assert.equal(Number(response.headers['content-length']), image.layer.size)
    assert.equal(sha256(response.body), image.layer.digest)
  })

  test('ranges inside one chunk, across chunks, at the end, and a suffix', async () => {
    const size = image.layer.size
    const cases: [string, number, number][] = [
      ['bytes=10-20', 10, 20],
      ['bytes=262100-262200', 262100, 262200],
      ['bytes=1000000-', 1000000, size - 1],
      ['bytes=-777', size - 777, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const response = await rawRequest(server.url, 'GET', path, { Range: range })
      assert.equal(response.status, 206, range)
      assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${size}`, range)
      assert.ok(response.body.equals(image.layer.bytes.subarray(start, end + 1)), range)
    }
  })

  test('HEAD sends the headers and no body', async () => {
    const response = await rawRequest(server.url, 'HEAD', path)
    assert.equal(response.status, 200)
    assert.equal(Number(response.headers['content-length']), image.layer.size)
    assert.equal(response.headers['docker-content-digest'], image.layer.digest)
    assert.equal(response.body.length, 0)
  })

  test('survives clients that go away mid-download and keeps serving', async () => {
    const url = new URL(server.url)
    await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<void>((resolve) => {
          const req = request({ host: url.hostname, port: url.port, path }, (res) => {
            res.once('data', () => {
              req.destroy()
              resolve()
            })
          })
          req.on('error', () => resolve())
          req.end()
        }),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(server.process.exitCode ?? null, null, 'the server is still running')
    assert.equal(sha256((await rawRequest(server.url, 'GET', path)).body), image.layer.digest)
  })

  test('skopeo pulls it', async () => {
    const digest = await skopeoPull(`docker://${server.authority}/${image.ref}`, join(await tempDir('large-pull'), 'pulled'))
    assert.equal(digest, image.manifestDigest)
  })
})
