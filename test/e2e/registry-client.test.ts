import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { ZregError } from '../../src/errors.js'
import { parseDigest, type Digest } from '../../src/oci/digest.js'
import { MediaTypes } from '../../src/oci/media-types.js'
import { lookupCredentials } from '../../src/remote/credentials.js'
import { RegistryClient, type RegistryClientOptions } from '../../src/remote/registry-client.js'
import { makeCertificates } from '../helpers/certificates.js'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pushFixture, startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js'
import { startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'

const layout = join(fixturesDir, 'oci-layout')
/** Retries fast, so fault tests take milliseconds, not seconds. */
const quickRetry = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5_000 }

async function fixture(id: string): Promise<FixtureImage> {
  return (await loadFixtures()).images.find((image) => image.id === id)!
}

async function hashStream(stream: Readable): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { digest: parseDigest(`sha256:${hash.digest('hex')}`), size }
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<ZregError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof ZregError, `expected a ZregError ${code}, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    if (message) assert.match(error.message, message)
    return error
  }
  assert.fail(`expected ${code}`)
}

/** Uploads `bytes` as a blob of `repository` (distribution-spec monolithic POST + PUT). */
async function uploadBlob(server: TestServer, repository: string, bytes: Buffer, authorization?: string): Promise<Digest> {
  const digest = parseDigest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`)
  const auth: Record<string, string> = authorization ? { authorization } : {}
  const started = await fetch(`${server.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: auth })
  assert.equal(started.status, 202)
  const location = new URL(started.headers.get('location')!, server.url)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes })
  assert.equal(put.status, 201)
  return digest
}

async function withClient<T>(options: RegistryClientOptions, use: (client: RegistryClient) => Promise<T>): Promise<T> {
  const client = await RegistryClient.connect({ retry: quickRetry, ...options })
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

describe('the registry client against docker-registry (anonymous)', () => {
  let registry: ReferenceRegistry
  let proxy: FaultProxy
  let big: { digest: Digest; bytes: Buffer }
  before(async () => {
    registry = await startReferenceRegistry()
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/single:1.0')
    await pushFixture(layout, 'fixtures/multi-arch:1.0', registry.authority, 'up/multi:1.0')
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/docker:1.0', { format: 'v2s2' })
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushFixture(layout, 'fixtures/single:1.0', registry.authority, `up/tags:${tag}`)
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    big = { bytes, digest: await uploadBlob(registry, 'up/single', bytes) }
    proxy = await startFaultProxy(registry.url)
  })
  after(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  test('manifests and blobs by tag and by digest, with the media types and digests skopeo pushed', async () => {
    const single = await fixture('oci/single')
    const multi = await fixture('oci/multi-arch')
    await withClient({ registry: registry.authority }, async (client) => {
      assert.equal(client.registry, registry.authority)
      assert.equal(client.base.protocol, 'http:', 'a loopback registry without TLS is reached over plain http')
      const head = await client.manifestHead('up/single', '1.0')
      assert.deepEqual(head, { digest: single.digest, mediaType: MediaTypes.OciManifest, size: single.size })
      const got = await client.manifestGet('up/single', '1.0')
      assert.equal(got.digest, single.digest)
      assert.equal(got.mediaType, MediaTypes.OciManifest)
      assert.equal((await client.manifestGet('up/single', single.digest!)).bytes.length, single.size)
      const index = await client.manifestGet('up/multi', '1.0')
      assert.equal(index.digest, multi.digest)
      assert.equal(index.mediaType, MediaTypes.OciIndex)
      assert.equal((await client.manifestGet('up/docker', '1.0')).mediaType, MediaTypes.DockerManifest)
      const manifest = JSON.parse(got.bytes.toString()) as { config: { digest: Digest; size: number }; layers: { digest: Digest; size: number }[] }
      for (const blob of [manifest.config, ...manifest.layers]) {
        assert.deepEqual(await hashStream(await client.blobOpen('up/single', blob.digest, blob.size)), { digest: blob.digest, size: blob.size })
      }
    })
  })

  test('what is not there: manifestHead undefined, manifestGet and blobOpen SOURCE_NOT_FOUND naming docker://registry/repo:ref', async () => {
    await withClient({ registry: registry.authority }, async (client) => {
      assert.equal(await client.manifestHead('up/single', 'nope'), undefined)
      assert.equal(await client.manifestHead('up/missing', '1.0'), undefined)
      await rejectsWith(client.manifestGet('up/single', 'nope'), 'SOURCE_NOT_FOUND', new RegExp(`^docker://${registry.authority}/up/single:nope not found \\(MANIFEST_UNKNOWN`))
      const absent = parseDigest(`sha256:${'0'.repeat(64)}`)
      await rejectsWith(client.manifestGet('up/single', absent), 'SOURCE_NOT_FOUND', new RegExp(`up/single@${absent}`))
      await rejectsWith(client.blobOpen('up/single', absent, 10), 'SOURCE_NOT_FOUND', /BLOB_UNKNOWN/)
      await rejectsWith(client.tagList('up/missing'), 'SOURCE_NOT_FOUND', /NAME_UNKNOWN/)
    })
  })

  test('a manifest fetched by digest that hashes to another digest is DIGEST_INVALID', async () => {
    const single = await fixture('oci/single')
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/manifests\//, fault: { kind: 'flip' } })
    await withClient({ registry: proxy.authority }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', single.digest!), 'DIGEST_INVALID', new RegExp(`up/single@${single.digest}: the registry sent a manifest whose digest is sha256:`))
    })
  })

  test('a manifest whose bytes do not hash to Docker-Content-Digest is DIGEST_INVALID; one over 4 MiB is MANIFEST_TOO_LARGE', async () => {
    proxy.reset()
    proxy.fault(
      { method: 'GET', path: /\/manifests\/1\.0$/, fault: { kind: 'flip' } },
      { method: 'GET', path: /\/manifests\/1\.0$/, fault: { kind: 'pad', bytes: 4 << 20 } },
      { method: 'GET', path: /\/manifests\/1\.0$/, fault: { kind: 'pad', bytes: 4 << 20, chunked: true } },
    )
    await withClient({ registry: proxy.authority }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'DIGEST_INVALID', /up\/single:1\.0: the manifest's bytes hash to sha256:[0-9a-f]{64}, but the registry's Docker-Content-Digest says sha256:/)
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'MANIFEST_TOO_LARGE', /up\/single:1\.0: the manifest is \d+ bytes, over the 4194304-byte limit/)
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'MANIFEST_TOO_LARGE', /up\/single:1\.0: the manifest is over the 4194304-byte limit/)
    })
  })

  test('tag lists (distribution 2.8 ignores n: one page); referrers: distribution 2.8 has no API (undefined)', async () => {
    await withClient({ registry: registry.authority }, async (client) => {
      assert.deepEqual((await client.tagList('up/tags', { pageSize: 2 })).sort(), ['a', 'b', 'c', 'd', 'e'])
      assert.deepEqual((await client.tagList('up/tags')).sort(), ['a', 'b', 'c', 'd', 'e'])
      const single = await fixture('oci/single')
      assert.equal(await client.referrers('up/single', single.digest as Digest), undefined)
    })
  })

  test('a blob download dropped half-way resumes with Range from where it stopped, and the bytes hash right', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, times: 2, fault: { kind: 'drop' } })
    const retries: string[] = []
    await withClient({ registry: proxy.authority, onRetry: (event) => retries.push(event.reason) }, async (client) => {
      const got = await hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length))
      assert.deepEqual(got, { digest: big.digest, size: big.bytes.length })
    })
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'))
    assert.equal(gets.length, 3)
    assert.equal(gets[0]!.headers.range, undefined)
    assert.match(String(gets[1]!.headers.range), /^bytes=\d+-$/)
    const first = Number(/\d+/.exec(String(gets[1]!.headers.range))![0])
    const second = Number(/\d+/.exec(String(gets[2]!.headers.range))![0])
    assert.ok(first > 0 && second > first, `resumed at ${first} then ${second}`)
    assert.equal(retries.length, 2)
    assert.match(retries[0]!, /resuming at byte \d+/)
  })

  test('a resumed download answered 200 (no range support) skips the bytes it already has', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'drop' } }, { method: 'GET', path: /\/blobs\//, fault: { kind: 'ignore-range' } })
    await withClient({ registry: proxy.authority }, async (client) => {
      assert.deepEqual(await hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length)), { digest: big.digest, size: big.bytes.length })
    })
    const blobs = proxy.requests.filter((r) => r.path.includes('/blobs/'))
    assert.deepEqual(
      blobs.map((r) => r.fault),
      ['drop', 'ignore-range'],
    )
    assert.match(String(blobs[1]!.headers.range), /^bytes=[1-9]\d*-$/)
  })

  test('a stalled blob download (no byte within the body timeout) counts as broken and resumes', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'stall' } })
    const reasons: string[] = []
    await withClient({ registry: proxy.authority, bodyTimeoutMs: 300, onRetry: (event) => reasons.push(event.reason) }, async (client) => {
      assert.deepEqual(await hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length)), { digest: big.digest, size: big.bytes.length })
    })
    assert.equal(reasons.length, 1)
    assert.match(reasons[0]!, /UND_ERR_BODY_TIMEOUT.*resuming at byte [1-9]\d*/)
    assert.match(String(proxy.requests.at(-1)!.headers.range), /^bytes=[1-9]\d*-$/)
  })

  // A held connection would stall the last request for the 60 s body timeout: the test's timeout catches it.
  test('a blob stream destroyed before or while it is read releases its connection: the next requests go through', { timeout: 10_000 }, async () => {
    await withClient({ registry: registry.authority, connections: 1 }, async (client) => {
      ;(await client.blobOpen('up/single', big.digest, big.bytes.length)).destroy()
      const partly = await client.blobOpen('up/single', big.digest, big.bytes.length)
      for await (const chunk of partly) {
        assert.ok((chunk as Buffer).length > 0)
        break
      }
      assert.deepEqual(await hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length)), { digest: big.digest, size: big.bytes.length })
    })
  })

  test('a blob that keeps breaking without progress is REMOTE_UNAVAILABLE naming the URL and the tries', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, times: 1, fault: { kind: 'drop' } }, { method: 'GET', path: /\/blobs\//, times: Infinity, fault: { kind: 'drop', fraction: 0 } })
    await withClient({ registry: proxy.authority }, async (client) => {
      const stream = await client.blobOpen('up/single', big.digest, big.bytes.length)
      await rejectsWith(hashStream(stream), 'REMOTE_UNAVAILABLE', new RegExp(`GET ${proxy.url}/v2/up/single/blobs/${big.digest} broke off 4 times in a row`))
    })
  })

  test('503 with Retry-After and 429 are retried and succeed; Retry-After sets the delay', async () => {
    const single = await fixture('oci/single')
    proxy.reset()
    proxy.fault(
      { method: 'GET', path: /\/manifests\/1\.0$/, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' } } },
      { method: 'GET', path: /\/manifests\/1\.0$/, fault: { kind: 'status', status: 429 } },
    )
    const events: { delayMs: number; reason: string }[] = []
    await withClient({ registry: proxy.authority, onRetry: (event) => events.push(event) }, async (client) => {
      const started = Date.now()
      assert.equal((await client.manifestGet('up/single', '1.0')).digest, single.digest)
      assert.ok(Date.now() - started >= 1000, 'waited the Retry-After second')
    })
    assert.deepEqual(
      events.map((e) => e.reason.split(' ')[0]),
      ['503', '429'],
    )
    assert.equal(events[0]!.delayMs, 1000)
    assert.ok(events[1]!.delayMs <= quickRetry.baseDelayMs * 2)
    assert.equal(proxy.requests.filter((r) => r.path.endsWith('/manifests/1.0')).length, 3)
  })

  test('retries run out: REMOTE_UNAVAILABLE naming the URL, the last status and the tries; a 4xx is not retried', async () => {
    proxy.reset()
    proxy.fault({ path: /\/manifests\/1\.0$/, times: Infinity, fault: { kind: 'status', status: 502 } })
    await withClient({ registry: proxy.authority }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_UNAVAILABLE', new RegExp(`^GET ${proxy.url}/v2/up/single/manifests/1\\.0 failed 4 times; the last: 502 UNAVAILABLE: injected 502$`))
      proxy.reset()
      proxy.fault({ path: /\/manifests\/1\.0$/, fault: { kind: 'status', status: 503, headers: { 'retry-after': '3600' } } })
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_UNAVAILABLE', /asks to retry after 3600 s, longer than the 5 s zreg waits/)
      proxy.reset()
      proxy.fault({ path: /\/manifests\/1\.0$/, times: Infinity, fault: { kind: 'status', status: 400 } })
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_INVALID', /answered 400/)
      assert.equal(proxy.requests.length, 1, 'no retry on 400')
    })
  })

  test('a flipped byte in a blob passes through: the bytes do not hash to the digest, and the client does not hide it', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'flip' } })
    await withClient({ registry: proxy.authority }, async (client) => {
      const got = await hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length))
      assert.equal(got.size, big.bytes.length)
      assert.notEqual(got.digest, big.digest)
    })
  })

  test('a blob longer or shorter than its descriptor is SIZE_INVALID, by Content-Length or by the bytes', async () => {
    proxy.reset()
    await withClient({ registry: proxy.authority }, async (client) => {
      await rejectsWith(client.blobOpen('up/single', big.digest, big.bytes.length - 1), 'SIZE_INVALID', /sends 3145745 bytes for a blob whose descriptor gives 3145744/)
      proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'pad', bytes: 10, chunked: true } })
      await rejectsWith(hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length)), 'SIZE_INVALID', /the registry sent more than the 3145745 bytes its descriptor gives/)
      // Without a Content-Length the short end shows when the body ends: resuming from there finds nothing more.
      proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'pad', bytes: 0, chunked: true } })
      await rejectsWith(hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length + 1)), 'SIZE_INVALID', /the registry has no bytes from 3145745 on \(it has 3145745\), where the descriptor gives 3145746/)
      // A server without range support sends the same short body every time: still SIZE_INVALID once the tries run out.
      proxy.fault({ method: 'GET', path: /\/blobs\//, times: Infinity, fault: { kind: 'ignore-range', chunked: true } })
      await rejectsWith(hashStream(await client.blobOpen('up/single', big.digest, big.bytes.length + 1)), 'SIZE_INVALID', /broke off 4 times in a row, at byte 3145745 of 3145746; the last: the body ended after 3145745 of 3145746 bytes/)
    })
  })

  test('what is not a registry, or not there: REMOTE_INVALID, CONNECTION_FAILED at once, HOST_UNKNOWN', async () => {
    // The side server answers 403 to /v2/: a web server, not a registry.
    await rejectsWith(RegistryClient.connect({ registry: new URL(proxy.sideUrl).host, retry: quickRetry }), 'REMOTE_INVALID', /is not a registry: GET http:\/\/127\.0\.0\.1:\d+\/v2\/ answered 403/)
    const closed = new URL(proxy.sideUrl)
    const port = Number(closed.port)
    await proxy.stop()
    // Nothing listens: a wrong port, said at once rather than after retries.
    const retries: unknown[] = []
    await rejectsWith(RegistryClient.connect({ registry: `127.0.0.1:${port}`, retry: { ...quickRetry, attempts: 2 }, onRetry: (event) => retries.push(event) }), 'CONNECTION_FAILED', /^nothing listens at 127\.0\.0\.1:\d+: the connection was refused \(the registry 127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+\/v2\/\); check the host and port$/)
    assert.deepEqual(retries, [])
    proxy = await startFaultProxy(registry.url)
    await rejectsWith(RegistryClient.connect({ registry: 'nosuch.invalid', retry: quickRetry }), 'HOST_UNKNOWN', /^cannot resolve the host name nosuch\.invalid \(the registry nosuch\.invalid, https:\/\/nosuch\.invalid\/v2\/\)$/)
  })
})

describe('the registry client against docker-registry with htpasswd (Basic)', () => {
  let registry: ReferenceRegistry
  let proxy: FaultProxy
  let big: { digest: Digest; size: number }
  const alice = { username: 'alice', password: 'alice-secret' }
  before(async () => {
    registry = await startReferenceRegistry({ users: [alice] })
    await pushFixture(layout, 'fixtures/single:1.0', registry.authority, 'up/single:1.0', { creds: 'alice:alice-secret' })
    const bytes = randomBytes(512 * 1024)
    big = { digest: await uploadBlob(registry, 'up/single', bytes, `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`), size: bytes.length }
    proxy = await startFaultProxy(registry.url)
  })
  after(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  test('the right credentials work; none or wrong ones are REMOTE_UNAUTHORIZED naming registry, repository and their source', async () => {
    const single = await fixture('oci/single')
    await withClient({ registry: registry.authority, credentials: alice, credentialSource: '--creds' }, async (client) => {
      assert.equal((await client.manifestGet('up/single', '1.0')).digest, single.digest)
    })
    await withClient({ registry: registry.authority }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_UNAUTHORIZED', new RegExp(`^docker://${registry.authority}/up/single: the registry refused access with no credentials \\(none given, none found in the auth files\\) \\(401`))
    })
    await withClient({ registry: registry.authority, credentials: { username: 'alice', password: 'wrong' }, credentialSource: '~/.docker/config.json' }, async (client) => {
      await rejectsWith(client.manifestHead('up/single', '1.0'), 'REMOTE_UNAUTHORIZED', /up\/single: the registry refused the credentials of user "alice" from ~\/\.docker\/config\.json \(401/)
    })
    await withClient({ registry: registry.authority, credentialSource: '~/.docker/config.json', credentialHelper: 'docker-credential-pass' }, async (client) => {
      await rejectsWith(client.tagList('up/single'), 'REMOTE_UNAUTHORIZED', new RegExp(`~/\\.docker/config\\.json configures docker-credential-pass for ${registry.authority.replace(/\./g, '\\.')}, which zreg does not run: pass --creds$`))
    })
  })

  test('credentials found by lookupCredentials in $REGISTRY_AUTH_FILE log in', async () => {
    const dir = await tempDir('client-authfile')
    const authFile = join(dir, 'auth.json')
    await writeFile(authFile, JSON.stringify({ auths: { [`${registry.authority}/up`]: { auth: Buffer.from('alice:alice-secret').toString('base64') } } }))
    const lookup = await lookupCredentials({ registry: registry.authority, repository: 'up/single' }, { env: { HOME: dir, REGISTRY_AUTH_FILE: authFile } })
    assert.equal(lookup.source, `$REGISTRY_AUTH_FILE (${authFile})`)
    await withClient({ registry: registry.authority, credentials: lookup.credentials, credentialSource: lookup.source }, async (client) => {
      assert.equal((await client.manifestHead('up/single', '1.0'))?.digest, (await fixture('oci/single')).digest)
    })
  })

  test('a 307 to another origin is followed without Authorization there', async () => {
    proxy.reset()
    proxy.fault({ method: 'GET', path: /\/blobs\//, fault: { kind: 'redirect' } })
    await withClient({ registry: proxy.authority, credentials: alice }, async (client) => {
      assert.deepEqual(await hashStream(await client.blobOpen('up/single', big.digest, big.size)), big)
    })
    const redirected = proxy.requests.find((r) => r.fault === 'redirect')
    assert.match(String(redirected?.headers.authorization), /^Basic /, 'the registry got the credentials')
    assert.equal(proxy.sideRequests.length, 1)
    assert.equal(proxy.sideRequests[0]!.headers.authorization, undefined, 'the other origin did not')
  })
})

describe('the registry client against zreg push with --auth (the bearer token flow)', () => {
  let server: TestServer
  let proxy: FaultProxy
  const alice = { username: 'alice', password: 'alice-secret' }
  before(async () => {
    const dir = await tempDir('client-token')
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    server = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`, '--read', 'authenticated'])
    await pushFixture(layout, 'fixtures/single:1.0', server.authority, 'up/single:1.0', { creds: 'alice:alice-secret' })
    await pushFixture(layout, 'fixtures/single:sbom', server.authority, 'up/single:sbom', { creds: 'alice:alice-secret' })
    await pushFixture(layout, 'fixtures/multi-arch:1.0', server.authority, 'up/multi:1.0', { creds: 'alice:alice-secret' })
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushFixture(layout, 'fixtures/single:1.0', server.authority, `up/tags:${tag}`, { creds: 'alice:alice-secret' })
    proxy = await startFaultProxy(server.url)
  })
  after(async () => {
    await proxy?.stop()
    await server?.stop()
  })

  test('a token is fetched once per scope and reused by parallel requests; a refused one is refreshed once', async () => {
    const multi = await fixture('oci/multi-arch')
    proxy.reset()
    await withClient({ registry: proxy.authority, credentials: alice }, async (client) => {
      const index = await client.manifestGet('up/multi', '1.0')
      assert.equal(index.digest, multi.digest)
      const children = (JSON.parse(index.bytes.toString()) as { manifests: { digest: Digest }[] }).manifests
      const manifests = await Promise.all(children.map((child) => client.manifestGet('up/multi', child.digest)))
      const blobs = manifests.flatMap((m) => {
        const parsed = JSON.parse(m.bytes.toString()) as { config: { digest: Digest; size: number }; layers: { digest: Digest; size: number }[] }
        return [parsed.config, ...parsed.layers]
      })
      for (const got of await Promise.all(blobs.map(async (blob) => hashStream(await client.blobOpen('up/multi', blob.digest, blob.size))))) {
        assert.ok(blobs.some((blob) => blob.digest === got.digest && blob.size === got.size))
      }
      await client.manifestGet('up/single', '1.0')
      const tokenRequests = proxy.requests.filter((r) => r.path.startsWith('/token'))
      assert.deepEqual(
        tokenRequests.map((r) => new URL(r.path, proxy.url).searchParams.get('scope')),
        ['repository:up/multi:pull', 'repository:up/single:pull'],
      )
      assert.match(String(tokenRequests[0]!.headers.authorization), /^Basic /, 'the token request carries the credentials')
      assert.equal(new URL(tokenRequests[0]!.path, proxy.url).searchParams.get('service'), 'zreg')
      assert.equal(new URL(tokenRequests[0]!.path, proxy.url).searchParams.get('account'), 'alice')
      // A token the registry no longer takes (expired, revoked): one new token, then it works.
      proxy.fault({ path: /\/manifests\/1\.0$/, fault: { kind: 'status', status: 401, headers: { 'www-authenticate': `Bearer realm="${proxy.url}/token",service="zreg",scope="repository:up/single:pull"` } } })
      await client.manifestGet('up/single', '1.0')
      assert.equal(proxy.requests.filter((r) => r.path.startsWith('/token')).length, 3)
    })
  })

  test('without credentials a registry that wants them is REMOTE_UNAUTHORIZED; wrong ones are refused by the token server', async () => {
    await withClient({ registry: server.authority }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_UNAUTHORIZED', /up\/single: the registry refused access with no credentials/)
    })
    await withClient({ registry: server.authority, credentials: { username: 'alice', password: 'nope' }, credentialSource: '--creds' }, async (client) => {
      await rejectsWith(client.manifestGet('up/single', '1.0'), 'REMOTE_UNAUTHORIZED', /up\/single: the token server http:\/\/127\.0\.0\.1:\d+\/token refused the credentials of user "alice" from --creds \(401/)
    })
  })

  test('tag lists follow Link: rel="next" pages to the end', async () => {
    proxy.reset()
    await withClient({ registry: proxy.authority, credentials: alice }, async (client) => {
      assert.deepEqual(await client.tagList('up/tags', { pageSize: 2 }), ['a', 'b', 'c', 'd', 'e'])
      const pages = proxy.requests.filter((r) => r.path.includes('/tags/list'))
      assert.deepEqual(
        pages.map((r) => new URL(r.path, proxy.url).search),
        ['?n=2', '?n=2&last=b', '?n=2&last=d'],
      )
      assert.deepEqual(await client.tagList('up/tags'), ['a', 'b', 'c', 'd', 'e'])
    })
  })

  test('referrers: zreg push answers the referrers API with the SBOM that names the image as its subject', async () => {
    const single = await fixture('oci/single')
    const sbom = await fixture('oci/sbom')
    await withClient({ registry: server.authority, credentials: alice }, async (client) => {
      const referrers = await client.referrers('up/single', single.digest as Digest)
      assert.ok(referrers !== undefined)
      assert.deepEqual(
        referrers.map((d) => d.digest),
        [sbom.digest],
      )
      assert.equal(referrers[0]!.artifactType, sbom.artifactType)
      assert.deepEqual(await client.referrers('up/single', sbom.digest as Digest), [])
    })
  })
})

describe('the registry client over TLS (zreg serve --tls-cert)', () => {
  let server: TestServer
  let certDir: string
  before(async () => {
    const dir = await tempDir('client-tls')
    const certs = await makeCertificates(dir)
    certDir = join(dir, 'certs.d')
    await mkdir(certDir)
    await copyFile(certs.ca, join(certDir, 'ca.crt'))
    server = await startZregServe((await sharedSite()).site, ['--tls-cert', certs.cert, '--tls-key', certs.key])
  })
  after(async () => server?.stop())

  test('TLS_FAILED without the CA (no fallback to http); works with certDir holding ca.crt, and with tlsVerify false', async () => {
    const single = await fixture('oci/single')
    await rejectsWith(RegistryClient.connect({ registry: server.authority, retry: quickRetry }), 'TLS_FAILED', new RegExp(`the registry ${server.authority.replace(/\./g, '\\.')} over TLS .*certificate`))
    await withClient({ registry: server.authority, certDir }, async (client) => {
      assert.equal(client.base.protocol, 'https:')
      assert.equal((await client.manifestGet('fixtures/single', '1.0')).digest, single.digest)
    })
    await withClient({ registry: server.authority, tlsVerify: false }, async (client) => {
      assert.equal(client.base.protocol, 'https:')
      assert.equal((await client.manifestHead('fixtures/single', '1.0'))?.digest, single.digest)
    })
  })

  test('a client certificate from the cert dir (NAME.cert + NAME.key) is presented; without one a server that wants it fails over https, not plain http', async () => {
    // zreg serve does not ask for client certificates: a bare node:https server that does stands in for the registry's TLS front.
    const dir = await tempDir('client-mtls')
    const certs = await makeCertificates(dir)
    const run = (args: string[]) => execa('openssl', args, { cwd: dir })
    await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=zreg client', '-keyout', 'client.key', '-out', 'client.csr'])
    await run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.cert'])
    const withClientCert = join(dir, 'with-client')
    const caOnly = join(dir, 'ca-only')
    for (const target of [withClientCert, caOnly]) {
      await mkdir(target)
      await copyFile(certs.ca, join(target, 'ca.crt'))
    }
    await copyFile(join(dir, 'client.cert'), join(withClientCert, 'client.cert'))
    await copyFile(join(dir, 'client.key'), join(withClientCert, 'client.key'))
    const subjects: string[] = []
    const mtls = createHttpsServer({ key: await readFile(certs.key), cert: await readFile(certs.cert), ca: await readFile(certs.ca), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      subjects.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN))
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' })
      res.end('{}')
    })
    await new Promise<void>((resolve) => mtls.listen(0, '127.0.0.1', resolve))
    const authority = `127.0.0.1:${(mtls.address() as AddressInfo).port}`
    try {
      await withClient({ registry: authority, certDir: withClientCert }, async (client) => assert.equal(client.base.protocol, 'https:'))
      assert.deepEqual(subjects, ['zreg client'])
      // With TLS 1.3 the server's refusal comes after the handshake: an alert (TLS_FAILED) or, as often,
      // a closed connection (REMOTE_UNAVAILABLE once retries run out); never a fall back to plain http.
      const refused = await RegistryClient.connect({ registry: authority, certDir: caOnly, retry: quickRetry }).then(
        () => assert.fail('connected without a client certificate'),
        (error: unknown) => error as ZregError,
      )
      assert.ok(['TLS_FAILED', 'REMOTE_UNAVAILABLE'].includes(refused.code), refused.message)
      assert.ok(refused.message.includes(`https://${authority}/v2/`), refused.message)
    } finally {
      mtls.closeAllConnections()
      await new Promise((resolve) => mtls.close(resolve))
    }
  })

  test('a cert dir with a client certificate but no key, or one that does not exist, is an error naming it', async () => {
    const dir = await tempDir('client-certdir')
    await writeFile(join(dir, 'client.cert'), 'x')
    await rejectsWith(RegistryClient.connect({ registry: server.authority, certDir: dir }), 'TLS_FAILED', /client\.cert is a client certificate without its key: put client\.key beside it/)
    await rejectsWith(RegistryClient.connect({ registry: server.authority, certDir: join(dir, 'missing') }), 'PATH_NOT_FOUND', /missing: no such file or directory \(--cert-dir\)/)
  })
})
