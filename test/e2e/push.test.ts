import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, utimes } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { rawRequest, socketRequest, type RawResponse } from '../helpers/http.js'
import { absoluteSource, cliPath, loadFixtures, tempDir, type Fixtures } from '../helpers/paths.js'
import { startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
/** Sends a request's head only and returns what the server answers before the connection closes. */
async function headersOnly(base: string, head: string): Promise<string> {
  const socket = connect(Number(new URL(base).port), '127.0.0.1')
  socket.write(head)
  let answer = ''
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
  await new Promise((resolve) => socket.once('close', resolve))
  return answer
}

const code = (response: RawResponse) => (JSON.parse(response.body.toString()) as { errors: { code: string }[] }).errors[0]?.code

describe('push mode', () => {
  let fixtures: Fixtures
  let dir: string
  let push: TestServer
  before(async () => {
    fixtures = await loadFixtures()
    dir = await tempDir('push')
    push = await startZregPush(join(dir, 'store'), join(dir, 'site'))
  })
  after(async () => push?.stop())

  const ociImages = () => fixtures.images.filter((image) => image.id.startsWith('oci/') && image.id !== 'oci/docker-v2')

  test('skopeo copy pushes every fixture, and pulls from push mode, zreg serve and nginx give the source digests', async () => {
    for (const image of ociImages()) {
      const all = image.mediaType === 'application/vnd.oci.image.index.v1+json' ? ['--all'] : []
      await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', ...all, absoluteSource(image.source), `docker://${push.authority}/${image.name}`])
    }
    await execa('skopeo', ['copy', '--dest-tls-verify=false', absoluteSource('docker-archive:docker-old.tar:dockerold/app:1.0'), `docker://${push.authority}/pushed/docker:1.0`])
    const pulls = await tempDir('push-pull')
    const serve = await startZregServe(join(dir, 'site'))
    const nginx = await startNginx(join(dir, 'site'))
    try {
      for (const server of [push, serve, nginx]) {
        for (const image of ociImages()) {
          const all = image.mediaType === 'application/vnd.oci.image.index.v1+json'
          const digest = await skopeoPull(`docker://${server.authority}/${image.name}`, join(pulls, `${server.authority}-${image.id.replace('/', '_')}`), { all })
          assert.equal(digest, image.digest, `${image.name} from ${server.url}`)
        }
      }
      const referrers = await rawRequest(serve.url, 'GET', `/v2/fixtures/single/referrers/${fixtures.images.find((i) => i.id === 'oci/single')!.digest}`)
      assert.equal((JSON.parse(referrers.body.toString()) as { manifests: unknown[] }).manifests.length, 1)
    } finally {
      await serve.stop()
      await nginx.stop()
    }
  })

  test('monolithic and chunked uploads, status, out-of-order chunks, cancel, mount', async () => {
    const blob = randomBytes(40_000)
    const digest = sha256(blob)
    const repo = '/v2/protocol/test'
    const mono = await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${digest}`, { 'Content-Type': 'application/octet-stream' }, { body: blob })
    assert.equal(mono.status, 201)
    assert.equal(mono.headers['docker-content-digest'], digest)
    assert.equal(mono.headers.location, `${repo}/blobs/${digest}`)

    const other = randomBytes(30_000)
    const started = await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/`)
    assert.equal(started.status, 202)
    const location = String(started.headers.location)
    assert.match(location, /^\/v2\/protocol\/test\/blobs\/uploads\/[a-f0-9-]{36}$/)
    assert.equal(started.headers.range, '0-0')
    const first = await rawRequest(push.url, 'PATCH', location, { 'Content-Range': '0-9999', 'Content-Type': 'application/octet-stream' }, { body: other.subarray(0, 10_000) })
    assert.equal(first.status, 202)
    assert.equal(first.headers.range, '0-9999')
    const outOfOrder = await rawRequest(push.url, 'PATCH', location, { 'Content-Range': '20000-29999' }, { body: other.subarray(20_000) })
    assert.equal(outOfOrder.status, 416)
    assert.equal(outOfOrder.headers.range, '0-9999')
    const repeated = await rawRequest(push.url, 'PATCH', location, { 'Content-Range': '0-9999' }, { body: other.subarray(0, 10_000) })
    assert.equal(repeated.status, 416)
    const status = await rawRequest(push.url, 'GET', location)
    assert.equal(status.status, 204)
    assert.equal(status.headers.range, '0-9999')
    const streamed = await rawRequest(push.url, 'PATCH', location, {}, { body: other.subarray(10_000, 20_000) })
    assert.equal(streamed.headers.range, '0-19999', 'a chunk without Content-Range is appended')
    const wrong = await rawRequest(push.url, 'PUT', `${location}?digest=${sha256('nope')}`, {}, { body: other.subarray(20_000) })
    assert.equal(wrong.status, 400)
    assert.equal(code(wrong), 'DIGEST_INVALID')
    assert.equal((await rawRequest(push.url, 'GET', location)).status, 404, 'a refused upload ends its session')

    const again = String((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/`)).headers.location)
    await rawRequest(push.url, 'PATCH', again, { 'Content-Range': '0-19999' }, { body: other.subarray(0, 20_000) })
    const done = await rawRequest(push.url, 'PUT', `${again}?digest=${sha256(other)}`, { 'Content-Range': '20000-29999' }, { body: other.subarray(20_000) })
    assert.equal(done.status, 201)
    const head = await rawRequest(push.url, 'HEAD', `${repo}/blobs/${sha256(other)}`)
    assert.equal(head.status, 200)
    assert.equal(Number(head.headers['content-length']), other.length)

    const cancelled = String((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/`)).headers.location)
    assert.equal((await rawRequest(push.url, 'DELETE', cancelled)).status, 204)
    const gone = await rawRequest(push.url, 'GET', cancelled)
    assert.equal(gone.status, 404)
    assert.equal(code(gone), 'BLOB_UPLOAD_UNKNOWN')

    const mounted = await rawRequest(push.url, 'POST', `/v2/protocol/other/blobs/uploads/?mount=${digest}&from=protocol/test`)
    assert.equal(mounted.status, 201)
    assert.equal(mounted.headers.location, `/v2/protocol/other/blobs/${digest}`)
    const notMounted = await rawRequest(push.url, 'POST', `/v2/protocol/other/blobs/uploads/?mount=${sha256('absent')}&from=protocol/test`)
    assert.equal(notMounted.status, 202)
  })

  test('manifest PUT is validated, and tags and manifests can be deleted', async () => {
    const repo = '/v2/protocol/manifests'
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
    const layer = Buffer.from('layer bytes')
    for (const blob of [config, layer]) {
      assert.equal((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(blob)}`, {}, { body: blob })).status, 201)
    }
    const layers = [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }]
    const manifest = (configSize: number) =>
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: configSize }, layers })
    const type = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }
    const good = manifest(config.length)
    const cases: [string, string, string, number, string][] = [
      ['not JSON', `${repo}/manifests/bad`, '{', 400, 'MANIFEST_INVALID'],
      ['fails its schema', `${repo}/manifests/bad`, '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}', 400, 'MANIFEST_INVALID'],
      ['a wrong size', `${repo}/manifests/bad`, manifest(config.length + 1), 400, 'SIZE_INVALID'],
      ['a digest that is not the body', `${repo}/manifests/${sha256('other')}`, good, 400, 'DIGEST_INVALID'],
      ['an invalid tag', `${repo}/manifests/bad!tag`, good, 400, 'TAG_INVALID'],
      ['an invalid name', '/v2/Bad/Name/manifests/1', good, 400, 'NAME_INVALID'],
    ]
    for (const [name, path, body, status, expected] of cases) {
      const response = await rawRequest(push.url, 'PUT', path, type, { body })
      assert.equal(response.status, status, name)
      assert.equal(code(response), expected, name)
    }
    const badConfig = Buffer.from('{"architecture": 5}')
    await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(badConfig)}`, {}, { body: badConfig })
    const withBadConfig = JSON.stringify({ ...(JSON.parse(good) as object), config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(badConfig), size: badConfig.length } })
    const refusedConfig = await rawRequest(push.url, 'PUT', `${repo}/manifests/badconfig`, type, { body: withBadConfig })
    assert.equal(refusedConfig.status, 400)
    assert.equal(code(refusedConfig), 'MANIFEST_INVALID')
    const missing = JSON.stringify({ ...(JSON.parse(good) as object), layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256('missing'), size: 7 }] })
    const unknown = await rawRequest(push.url, 'PUT', `${repo}/manifests/missing`, type, { body: missing })
    assert.equal(unknown.status, 400)
    assert.equal(code(unknown), 'MANIFEST_BLOB_UNKNOWN')

    const put = await rawRequest(push.url, 'PUT', `${repo}/manifests/v1`, type, { body: good })
    assert.equal(put.status, 201)
    assert.equal(put.headers['docker-content-digest'], sha256(good))
    assert.equal((await rawRequest(push.url, 'GET', `${repo}/manifests/v1`, { Accept: type['Content-Type'] })).body.toString(), good)
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/manifests/v1`)).status, 202)
    assert.equal((await rawRequest(push.url, 'GET', `${repo}/manifests/v1`)).status, 404)
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/manifests/v1`)).status, 404)

    // An artifact naming the manifest as its subject, pushed by digest: OCI-Subject, and the referrers API.
    assert.equal((await rawRequest(push.url, 'PUT', `${repo}/manifests/v2`, type, { body: good })).status, 201)
    const empty = Buffer.from('{}')
    await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(empty)}`, {}, { body: empty })
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(good), size: good.length },
    })
    const signed = await rawRequest(push.url, 'PUT', `${repo}/manifests/${sha256(artifact)}`, type, { body: artifact })
    assert.equal(signed.status, 201)
    assert.equal(signed.headers['oci-subject'], sha256(good))
    const referrers = JSON.parse((await rawRequest(push.url, 'GET', `${repo}/referrers/${sha256(good)}`)).body.toString()) as { manifests: { digest: string; artifactType: string }[] }
    assert.deepEqual(referrers.manifests.map((m) => [m.digest, m.artifactType]), [[sha256(artifact), 'application/vnd.example.sig']])

    // Deleting by digest removes every name of the manifest; a deleted blob stays readable while a
    // manifest of the repository names it, and is gone once none does.
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/manifests/${sha256(artifact)}`)).status, 202)
    assert.equal((await rawRequest(push.url, 'GET', `${repo}/manifests/${sha256(artifact)}`)).status, 404)
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/blobs/${sha256(layer)}`)).status, 202)
    assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/blobs/${sha256(layer)}`)).status, 200, 'still named by v2')
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/manifests/${sha256(good)}`)).status, 202)
    assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/blobs/${sha256(layer)}`)).status, 404, 'gone once nothing names it')
    assert.equal((await rawRequest(push.url, 'DELETE', `${repo}/blobs/${sha256(layer)}`)).status, 404)
  })

  test('a blob belongs to the repositories it was pushed or mounted into, across a restart', async () => {
    const blob = randomBytes(5_000)
    const digest = sha256(blob)
    assert.equal((await rawRequest(push.url, 'POST', `/v2/held/a/blobs/uploads/?digest=${digest}`, {}, { body: blob })).status, 201)
    assert.equal((await rawRequest(push.url, 'HEAD', `/v2/held/a/blobs/${digest}`)).status, 200)
    const elsewhere = await rawRequest(push.url, 'GET', `/v2/held/b/blobs/${digest}`)
    assert.equal(elsewhere.status, 404, 'knowing a digest is no way into another repository')
    assert.equal(code(elsewhere), 'BLOB_UNKNOWN')
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
    assert.equal((await rawRequest(push.url, 'POST', `/v2/held/b/blobs/uploads/?digest=${sha256(config)}`, {}, { body: config })).status, 201)
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: blob.length }],
    })
    const type = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }
    const refused = await rawRequest(push.url, 'PUT', '/v2/held/b/manifests/1', type, { body: manifest })
    assert.equal(code(refused), 'MANIFEST_BLOB_UNKNOWN', 'a manifest may only name what its repository holds')
    const bareMount = await rawRequest(push.url, 'POST', `/v2/held/b/blobs/uploads/?mount=${digest}`)
    assert.equal(bareMount.status, 201, 'with no access control, a stored blob mounts without from')
    assert.equal((await rawRequest(push.url, 'DELETE', `/v2/held/b/blobs/${digest}`)).status, 202)
    assert.equal((await rawRequest(push.url, 'HEAD', `/v2/held/b/blobs/${digest}`)).status, 404)
    assert.equal((await rawRequest(push.url, 'POST', `/v2/held/b/blobs/uploads/?mount=${digest}&from=held/nothing`)).status, 202, 'from must hold it')
    assert.equal((await rawRequest(push.url, 'POST', `/v2/held/b/blobs/uploads/?mount=${digest}&from=held/a`)).status, 201)
    assert.equal((await rawRequest(push.url, 'PUT', '/v2/held/b/manifests/1', type, { body: manifest })).status, 201)

    await push.stop()
    push = await startZregPush(join(dir, 'store'), join(dir, 'site'))
    assert.equal((await rawRequest(push.url, 'HEAD', `/v2/held/a/blobs/${digest}`)).status, 200, 'held after a restart')
    assert.equal((await rawRequest(push.url, 'DELETE', `/v2/held/a/blobs/${digest}`)).status, 202)
    assert.equal((await rawRequest(push.url, 'HEAD', `/v2/held/a/blobs/${digest}`)).status, 404)
    assert.equal((await rawRequest(push.url, 'HEAD', `/v2/held/b/blobs/${digest}`)).status, 200, 'b still holds it')
  })

  test('a request whose headers contradict its body gets a 4xx with an OCI error and stores nothing', async () => {
    const repo = '/v2/protocol/contradict'
    const blob = randomBytes(1000)
    const sessionCount = async () => (await readdir(join(dir, 'store', '.zreg', 'uploads')).catch(() => [])).length
    const uploadsBefore = await sessionCount()
    const session = async () => String((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/`)).headers.location)
    const chunkedBody = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')])
    const head = (method: string, path: string, headers: Record<string, string | number>) =>
      `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`
    // Each upload case starts a session holding the first 100 bytes, sends one contradicting request, and
    // expects the upload to stand where it stood (and the blob to be nowhere).
    const uploadCases: [string, (location: string) => Promise<RawResponse>, number, string][] = [
      ['PATCH: Content-Range longer than Content-Length', (at) => socketRequest(push.url, head('PATCH', at, { 'Content-Range': '100-999', 'Content-Length': 500 }), blob.subarray(100, 600)), 400, 'SIZE_INVALID'],
      ['PATCH: Content-Range shorter than Content-Length', (at) => socketRequest(push.url, head('PATCH', at, { 'Content-Range': '100-199', 'Content-Length': 900 }), blob.subarray(100)), 400, 'SIZE_INVALID'],
      ['PATCH: chunked body shorter than its Content-Range', (at) => socketRequest(push.url, head('PATCH', at, { 'Content-Range': '100-999', 'Transfer-Encoding': 'chunked' }), chunkedBody(blob.subarray(100, 600))), 400, 'SIZE_INVALID'],
      ['PATCH: chunked body longer than its Content-Range', (at) => socketRequest(push.url, head('PATCH', at, { 'Content-Range': '100-199', 'Transfer-Encoding': 'chunked' }), chunkedBody(blob.subarray(100))), 400, 'SIZE_INVALID'],
      ['PATCH: Content-Range that ends before it starts', (at) => rawRequest(push.url, 'PATCH', at, { 'Content-Range': '199-100' }, { body: blob.subarray(100, 200) }), 416, 'BLOB_UPLOAD_INVALID'],
      ['PATCH: Content-Range that starts where the upload does not stand', (at) => rawRequest(push.url, 'PATCH', at, { 'Content-Range': '0-99' }, { body: blob.subarray(0, 100) }), 416, 'BLOB_UPLOAD_INVALID'],
      ['PUT: final chunk that starts where the upload does not stand', (at) => rawRequest(push.url, 'PUT', `${at}?digest=${sha256(blob)}`, { 'Content-Range': '0-899' }, { body: blob.subarray(100) }), 416, 'BLOB_UPLOAD_INVALID'],
      ['PUT: final chunk whose Content-Range disagrees with Content-Length', (at) => socketRequest(push.url, head('PUT', `${at}?digest=${sha256(blob)}`, { 'Content-Range': '100-999', 'Content-Length': 800 }), blob.subarray(100, 900)), 400, 'SIZE_INVALID'],
      ['PUT: final chunk whose chunked body is shorter than its Content-Range', (at) => socketRequest(push.url, head('PUT', `${at}?digest=${sha256(blob)}`, { 'Content-Range': '100-999', 'Transfer-Encoding': 'chunked' }), chunkedBody(blob.subarray(100, 900))), 400, 'SIZE_INVALID'],
    ]
    for (const [name, send, status, expected] of uploadCases) {
      const location = await session()
      assert.equal((await rawRequest(push.url, 'PATCH', location, { 'Content-Range': '0-99' }, { body: blob.subarray(0, 100) })).status, 202)
      const response = await send(location)
      assert.equal(response.status, status, name)
      assert.equal(code(response), expected, name)
      assert.equal((await rawRequest(push.url, 'GET', location)).headers.range, '0-99', `${name}: the upload stands where it stood`)
      assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/blobs/${sha256(blob)}`)).status, 404, name)
      assert.equal((await rawRequest(push.url, 'DELETE', location)).status, 204)
    }
    // Whole-body uploads: the blob must not exist afterwards, and no session is left behind.
    const short = blob.subarray(0, 300)
    const wholeCases: [string, () => Promise<RawResponse>, string, string][] = [
      ['POST ?digest=: Content-Length longer than the body, which ends with the connection', () => socketRequest(push.url, head('POST', `${repo}/blobs/uploads/?digest=${sha256(short)}`, { 'Content-Length': 400 }), short, { endAfterBody: true }), sha256(short), 'SIZE_INVALID'],
      ['POST ?digest=: body past its Content-Length', () => socketRequest(push.url, head('POST', `${repo}/blobs/uploads/?digest=${sha256(blob)}`, { 'Content-Length': 900 }), blob), sha256(blob), 'UNSUPPORTED'],
      ['POST ?digest=: a body that is not the digest', () => rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(short)}`, {}, { body: blob }), sha256(short), 'DIGEST_INVALID'],
      ['PUT ?digest=: Content-Length longer than the body, which ends with the connection', async () => socketRequest(push.url, head('PUT', `${await session()}?digest=${sha256(short)}`, { 'Content-Length': 400 }), short, { endAfterBody: true }), sha256(short), 'SIZE_INVALID'],
      ['PUT ?digest=: a body that is not the digest', async () => rawRequest(push.url, 'PUT', `${await session()}?digest=${sha256(short)}`, {}, { body: blob }), sha256(short), 'DIGEST_INVALID'],
    ]
    for (const [name, send, digest, expected] of wholeCases) {
      const response = await send()
      assert.equal(response.status, 400, name)
      assert.equal(code(response), expected, name)
      assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/blobs/${digest}`)).status, 404, name)
    }
    await sleep(200)
    const sessionsLeft = (await sessionCount()) - uploadsBefore
    assert.equal(sessionsLeft, 1, "no refused POST leaves a session; the PUT cut off by its connection keeps its own, to be resumed")

    // Manifests: the Content-Type says which manifest it is and the body must agree, as in distribution.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
    const layer = Buffer.from('contradicted layer')
    for (const bytes of [config, layer]) assert.equal((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(bytes)}`, {}, { body: bytes })).status, 201)
    const types = {
      ociManifest: 'application/vnd.oci.image.manifest.v1+json',
      ociIndex: 'application/vnd.oci.image.index.v1+json',
      docker: 'application/vnd.docker.distribution.manifest.v2+json',
      dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
    }
    const manifestOf = (mediaType: string | undefined, configType = 'application/vnd.oci.image.config.v1+json') =>
      JSON.stringify({
        schemaVersion: 2,
        ...(mediaType === undefined ? {} : { mediaType }),
        config: { mediaType: configType, digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      })
    const dockerConfig = 'application/vnd.docker.container.image.v1+json'
    const indexOf = (mediaType: string | undefined) => JSON.stringify({ schemaVersion: 2, ...(mediaType === undefined ? {} : { mediaType }), manifests: [] })
    const manifestCases: [string, string | undefined, string, number, string | undefined][] = [
      ['an OCI Content-Type over a Docker manifest', types.ociManifest, manifestOf(types.docker, dockerConfig), 400, 'MANIFEST_INVALID'],
      ['a Docker Content-Type over an OCI manifest', types.docker, manifestOf(types.ociManifest), 400, 'MANIFEST_INVALID'],
      ['a Docker Content-Type over a body without mediaType', types.docker, manifestOf(undefined, dockerConfig), 400, 'MANIFEST_INVALID'],
      ['an index Content-Type over an image manifest', types.ociIndex, manifestOf(types.ociManifest), 400, 'MANIFEST_INVALID'],
      ['an index Content-Type over an image manifest without mediaType', types.ociIndex, manifestOf(undefined), 400, 'MANIFEST_INVALID'],
      ['a manifest Content-Type over an index', types.ociManifest, indexOf(types.ociIndex), 400, 'MANIFEST_INVALID'],
      ['a Docker list Content-Type over an index without mediaType', types.dockerList, indexOf(undefined), 400, 'MANIFEST_INVALID'],
      ['no Content-Type', undefined, manifestOf(types.ociManifest), 400, 'MANIFEST_INVALID'],
      ['a Content-Type that is no manifest type', 'application/json', manifestOf(types.ociManifest), 400, 'MANIFEST_INVALID'],
      // What distribution accepts: OCI leaves mediaType optional, and the Content-Type may carry parameters.
      ['an OCI manifest without mediaType under its Content-Type', types.ociManifest, manifestOf(undefined), 201, undefined],
      ['an OCI index without mediaType under its Content-Type', types.ociIndex, indexOf(undefined), 201, undefined],
      ['a Content-Type with parameters', `${types.ociManifest}; charset=utf-8`, manifestOf(types.ociManifest), 201, undefined],
    ]
    let tag = 0
    for (const [name, contentType, body, status, expected] of manifestCases) {
      const path = `${repo}/manifests/t${++tag}`
      const response = await rawRequest(push.url, 'PUT', path, contentType === undefined ? {} : { 'Content-Type': contentType }, { body })
      assert.equal(response.status, status, name)
      if (expected === undefined) continue
      assert.equal(code(response), expected, name)
      assert.equal((await rawRequest(push.url, 'HEAD', path)).status, 404, `${name}: no tag`)
      assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/manifests/${sha256(body)}`)).status, 404, `${name}: no manifest`)
    }
    const cut = manifestOf(types.ociManifest, 'application/vnd.oci.image.config.v1+json').replace('"schemaVersion":2', '"schemaVersion":2 ')
    const truncated = await socketRequest(push.url, head('PUT', `${repo}/manifests/cut`, { 'Content-Type': types.ociManifest, 'Content-Length': cut.length + 10 }), cut, { endAfterBody: true })
    assert.equal(truncated.status, 400)
    assert.equal(code(truncated), 'SIZE_INVALID')
    assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/manifests/cut`)).status, 404)
    assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/manifests/${sha256(cut)}`)).status, 404)
    const overlong = await socketRequest(push.url, head('PUT', `${repo}/manifests/overlong`, { 'Content-Type': types.ociManifest, 'Content-Length': cut.length - 10 }), cut)
    assert.equal(overlong.status, 400, 'the bytes past the Content-Length are no request')
    assert.equal(code(overlong), 'UNSUPPORTED')
    assert.equal((await rawRequest(push.url, 'HEAD', `${repo}/manifests/overlong`)).status, 404)
  })

  test('a manifest of 4 MiB is accepted and one byte more is refused with 413, whether or not the client says its length', async () => {
    const repo = '/v2/protocol/limit'
    const empty = Buffer.from('{}')
    assert.equal((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${sha256(empty)}`, {}, { body: empty })).status, 201)
    const manifestOf = (size: number) => {
      const base = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.big', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }, layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }], annotations: { pad: '' } }
      const padding = size - JSON.stringify(base).length
      return JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(padding) } })
    }
    const type = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }
    const limit = 4 * 1024 * 1024
    const largest = manifestOf(limit)
    assert.equal(largest.length, limit)
    assert.equal((await rawRequest(push.url, 'PUT', `${repo}/manifests/largest`, type, { body: largest })).status, 201)
    const chunked = await rawRequest(push.url, 'PUT', `${repo}/manifests/over`, { ...type, 'Transfer-Encoding': 'chunked' }, { body: manifestOf(limit + 1) })
    assert.equal(chunked.status, 413)
    assert.equal(code(chunked), 'MANIFEST_INVALID')
    // Announced too large: refused on the headers, before the client sends a byte of the body.
    const announced = await headersOnly(push.url, `PUT ${repo}/manifests/over HTTP/1.1\r\nHost: x\r\nContent-Type: ${type['Content-Type']}\r\nContent-Length: ${limit + 1}\r\n\r\n`)
    assert.match(announced, /^HTTP\/1\.1 413 /)
    assert.equal((await rawRequest(push.url, 'GET', `${repo}/manifests/over`)).status, 404)
  })

  test('an upload cut off mid-chunk keeps what arrived, and the client resumes from the Range it is told, without a restart', async () => {
    const blob = randomBytes(6 * 1024 * 1024)
    const location = String((await rawRequest(push.url, 'POST', '/v2/protocol/cut/blobs/uploads/')).headers.location)
    // The whole blob announced in one PATCH, 3.5 MiB sent, then the connection dropped.
    const sent = 3.5 * 1024 * 1024
    const socket = connect(Number(new URL(push.url).port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-${blob.length - 1}\r\nContent-Length: ${blob.length}\r\n\r\n`)
    await new Promise((resolve) => socket.write(blob.subarray(0, sent), resolve))
    await sleep(300)
    socket.destroy()
    let range: string | undefined
    for (let tries = 0; tries < 50 && range !== `0-${sent - 1}`; tries++) {
      await sleep(100)
      range = String((await rawRequest(push.url, 'GET', location)).headers.range)
    }
    assert.equal(range, `0-${sent - 1}`, 'every byte that arrived is kept')
    const rest = await rawRequest(push.url, 'PATCH', location, { 'Content-Range': `${sent}-${blob.length - 1}` }, { body: blob.subarray(sent) })
    assert.equal(rest.status, 202)
    const done = await rawRequest(push.url, 'PUT', `${location}?digest=${sha256(blob)}`)
    assert.equal(done.status, 201)
    assert.equal(sha256(await readFile(join(dir, 'store', 'blobs', 'sha256', sha256(blob).slice('sha256:'.length)))), sha256(blob))
  })

  test('20 concurrent uploads of one 50 MiB blob (monolithic and chunked) all succeed; each HEAD right after sees it whole', async () => {
    const blob = randomBytes(50 * 1024 * 1024)
    const digest = sha256(blob)
    const sessionsBefore = await readdir(join(dir, 'store', '.zreg', 'uploads'))
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const repo = `/v2/race/r${i % 4}`
        let finished: RawResponse
        if (i % 2 === 0) {
          finished = await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/?digest=${digest}`, {}, { body: blob })
        } else {
          const location = String((await rawRequest(push.url, 'POST', `${repo}/blobs/uploads/`)).headers.location)
          const half = blob.length / 2
          await rawRequest(push.url, 'PATCH', location, { 'Content-Range': `0-${half - 1}` }, { body: blob.subarray(0, half) })
          finished = await rawRequest(push.url, 'PUT', `${location}?digest=${digest}`, { 'Content-Range': `${half}-${blob.length - 1}` }, { body: blob.subarray(half) })
        }
        const head = await rawRequest(push.url, 'HEAD', `${repo}/blobs/${digest}`)
        return [finished.status, head.status, Number(head.headers['content-length'])]
      }),
    )
    for (const [put, head, length] of results) {
      assert.equal(put, 201)
      assert.equal(head, 200)
      assert.equal(length, blob.length)
    }
    const blobs = await readdir(join(dir, 'store', 'blobs', 'sha256'))
    assert.ok(blobs.every((name) => /^[a-f0-9]{64}$/.test(name)), 'no temp files among the blobs')
    assert.deepEqual(await readdir(join(dir, 'store', '.zreg', 'uploads')), sessionsBefore, 'no upload session left behind')
  })
})

describe('push mode across a restart and a kill', () => {
  test('an upload resumes after a restart, and a kill -9 mid-upload leaves a store whose blobs all verify', async () => {
    const dir = await tempDir('resume')
    const store = join(dir, 'store')
    const blob = randomBytes(200_000)
    let server = await startZregPush(store, join(dir, 'site'))
    const location = String((await rawRequest(server.url, 'POST', '/v2/resume/me/blobs/uploads/')).headers.location)
    await rawRequest(server.url, 'PATCH', location, { 'Content-Range': '0-99999' }, { body: blob.subarray(0, 100_000) })
    server.process.kill('SIGKILL')
    await server.process
    server = await startZregPush(store, join(dir, 'site'))
    try {
      const status = await rawRequest(server.url, 'GET', location)
      assert.equal(status.status, 204)
      assert.equal(status.headers.range, '0-99999')
      const done = await rawRequest(server.url, 'PUT', `${location}?digest=${sha256(blob)}`, { 'Content-Range': '100000-199999' }, { body: blob.subarray(100_000) })
      assert.equal(done.status, 201)
      for (const name of await readdir(join(store, 'blobs', 'sha256'))) {
        assert.equal(sha256(await readFile(join(store, 'blobs', 'sha256', name))), `sha256:${name}`)
      }
      await execa('skopeo', ['copy', '--dest-tls-verify=false', absoluteSource('oci:oci-layout:fixtures/single:1.0'), `docker://${server.authority}/resume/image:1`])
      assert.match((await execa(cliPath, ['verify', '--store', store])).stdout, /^ok: 1 references/)
    } finally {
      await server.stop()
    }
  })
})


describe('push mode upload expiry', () => {
  test('an abandoned upload session is purged when it is older than --upload-expiry', async () => {
    const dir = await tempDir('expiry')
    const store = join(dir, 'store')
    let server = await startZregPush(store, join(dir, 'site'))
    const location = String((await rawRequest(server.url, 'POST', '/v2/expire/me/blobs/uploads/')).headers.location)
    const fresh = String((await rawRequest(server.url, 'POST', '/v2/expire/me/blobs/uploads/')).headers.location)
    await server.stop()
    const old = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000)
    await utimes(join(store, '.zreg', 'uploads', location.split('/').pop()!, 'data'), old, old)
    server = await startZregPush(store, join(dir, 'site'), ['--upload-expiry', '24'])
    try {
      assert.equal((await rawRequest(server.url, 'GET', location)).status, 404, 'purged')
      assert.equal((await rawRequest(server.url, 'GET', fresh)).status, 204, 'kept')
    } finally {
      await server.stop()
    }
  })
})

describe('push mode limits and namespaces', () => {
  test('past --max-uploads a client is told 503 with Retry-After, and served again once uploads finish', async () => {
    const dir = await tempDir('limit')
    const server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--max-uploads', '1'])
    try {
      const location = String((await rawRequest(server.url, 'POST', '/v2/limit/me/blobs/uploads/')).headers.location)
      const url = new URL(server.url)
      const { request } = await import('node:http')
      // One chunk left open: the upload is running until it ends.
      const open = request({ host: url.hostname, port: url.port, method: 'PATCH', path: location, headers: { 'Transfer-Encoding': 'chunked' } })
      const answered = new Promise<number>((resolve) => open.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))))
      open.write(Buffer.alloc(1000))
      await new Promise((resolve) => setTimeout(resolve, 200))
      const refused = await rawRequest(server.url, 'POST', '/v2/limit/me/blobs/uploads/')
      assert.equal(refused.status, 503)
      assert.equal(refused.headers['retry-after'], '1')
      assert.equal(code(refused), 'TOOMANYREQUESTS')
      open.end()
      assert.equal(await answered, 202)
      assert.equal((await rawRequest(server.url, 'POST', '/v2/limit/me/blobs/uploads/')).status, 202)
    } finally {
      await server.stop()
    }
  })

  test('--namespaced: the first component names the upstream registry and namespaces stay apart', async () => {
    const dir = await tempDir('namespaced')
    const server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--namespaced'])
    try {
      const source = absoluteSource('oci:oci-layout:fixtures/single:1.0')
      await execa('skopeo', ['copy', '--dest-tls-verify=false', source, `docker://${server.authority}/docker.io/library/single:1.0`])
      const pulled = await skopeoPull(`docker://${server.authority}/docker.io/library/single:1.0`, join(dir, 'pulled'))
      assert.equal(pulled, (await loadFixtures()).images.find((image) => image.id === 'oci/single')!.digest)
      const noNamespace = await rawRequest(server.url, 'POST', '/v2/library/single/blobs/uploads/')
      assert.equal(noNamespace.status, 400)
      assert.equal(code(noNamespace), 'NAME_INVALID')

      const blob = randomBytes(1000)
      const digest = sha256(blob)
      assert.equal((await rawRequest(server.url, 'POST', `/v2/quay.io/a/x/blobs/uploads/?digest=${digest}`, {}, { body: blob })).status, 201)
      assert.equal((await rawRequest(server.url, 'HEAD', `/v2/quay.io/a/x/blobs/${digest}`)).status, 200)
      assert.equal((await rawRequest(server.url, 'HEAD', `/v2/quay.io/b/y/blobs/${digest}`)).status, 404, 'held only where it was pushed')
      const crossMount = await rawRequest(server.url, 'POST', `/v2/docker.io/c/z/blobs/uploads/?mount=${digest}&from=quay.io/a/x`)
      assert.equal(crossMount.status, 202, 'no mount across namespaces: an ordinary upload instead')
      const bareCrossMount = await rawRequest(server.url, 'POST', `/v2/docker.io/c/z/blobs/uploads/?mount=${digest}`)
      assert.equal(bareCrossMount.status, 202, 'a blob of another namespace is unknown here')
      const sameMount = await rawRequest(server.url, 'POST', `/v2/quay.io/d/w/blobs/uploads/?mount=${digest}&from=quay.io/a/x`)
      assert.equal(sameMount.status, 201)
      const bareMount = await rawRequest(server.url, 'POST', `/v2/quay.io/b/y/blobs/uploads/?mount=${digest}`)
      assert.equal(bareMount.status, 201, 'known in its namespace: mounted without from')
      assert.equal((await rawRequest(server.url, 'HEAD', `/v2/quay.io/b/y/blobs/${digest}`)).status, 200)
    } finally {
      await server.stop()
    }
  })
})

describe('push mode notifications', () => {
  test('pushes, tags and deletes are posted to webhooks, retried after a failure, without holding up the request', async () => {
    const events: { action: string; target: { repository: string; tag?: string; digest?: string } }[] = []
    let calls = 0
    const { createServer } = await import('node:http')
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        calls++
        assert.equal(req.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json')
        // The first delivery fails: the event must come again.
        if (calls === 1) {
          res.statusCode = 500
          res.end()
          return
        }
        events.push(...(JSON.parse(body) as { events: typeof events }).events)
        res.end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const address = receiver.address() as { port: number }
    const dir = await tempDir('notify')
    const server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--notify', `http://127.0.0.1:${address.port}/events`])
    try {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
      const layer = Buffer.from('notified layer')
      for (const blob of [config, layer]) await rawRequest(server.url, 'POST', `/v2/hooks/app/blobs/uploads/?digest=${sha256(blob)}`, {}, { body: blob })
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      })
      const started = Date.now()
      const put = await rawRequest(server.url, 'PUT', '/v2/hooks/app/manifests/v1', { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, { body: manifest })
      assert.equal(put.status, 201)
      assert.ok(Date.now() - started < 1000, 'the push did not wait for the webhook')
      assert.equal((await rawRequest(server.url, 'DELETE', '/v2/hooks/app/manifests/v1')).status, 202)
      const deadline = Date.now() + 10_000
      while (events.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.deepEqual(
        events.map((event) => [event.action, event.target.repository, event.target.tag, event.target.digest]),
        [
          ['push', 'hooks/app', 'v1', sha256(manifest)],
          ['tag', 'hooks/app', 'v1', sha256(manifest)],
          ['delete', 'hooks/app', 'v1', sha256(manifest)],
        ],
      )
    } finally {
      await server.stop()
      receiver.close()
    }
  })
})
