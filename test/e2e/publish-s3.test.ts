import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { s3Host } from '../../src/build/hosts/s3.js'
import type { PublishSummary } from '../../src/publish/publish-result.js'
import { absoluteSource, cliPath, loadFixtures, tempDir } from '../helpers/paths.js'
import { cleanEnv, rcloneObjects, s3Credentials, startS3Server, type TestS3Server } from '../helpers/s3-server.js'
import { makeLargeImage } from '../helpers/large-image.js'
import { makeScaleStore } from '../helpers/scale-store.js'
import { freePort } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'

// The SDK's notice about its future Node versions, for the client this test runs itself.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

const immutable = 'public, max-age=31536000, immutable'
const digestName = /^sha(256|512):[a-f0-9]+$/

type Summary = PublishSummary

/** Every object a built tree should become: key -> local file, Content-Type, Cache-Control (the test's own reading of the tree). */
async function expectedObjects(site: string): Promise<Map<string, { file: string; contentType: string; cacheControl: string }>> {
  const meta = JSON.parse(await readFile(join(site, '.zreg', 'site.json'), 'utf8')) as { cacheMaxAge: number; repositories: Record<string, string>; rootFiles: Record<string, { contentType: string }> }
  const mutable = meta.cacheMaxAge > 0 ? `public, max-age=${meta.cacheMaxAge}` : 'no-cache'
  const expected = new Map<string, { file: string; contentType: string; cacheControl: string }>()
  for (const [name, key] of Object.entries(meta.repositories)) {
    const headers = JSON.parse(await readFile(join(site, '.zreg-builds', 'objects', `${key}.headers.json`), 'utf8')) as Record<string, { contentType: string }>
    for (const [path, entry] of Object.entries(headers)) {
      const [part, last = ''] = path.split('/')
      const byDigest = (part === 'blobs' || part === 'manifests') && digestName.test(last)
      expected.set(`v2/${name}/${path}`, { file: join(site, 'v2', name, path), contentType: entry.contentType, cacheControl: byDigest ? immutable : mutable })
    }
  }
  for (const [path, entry] of Object.entries(meta.rootFiles)) expected.set(path, { file: join(site, path), contentType: entry.contentType, cacheControl: mutable })
  return expected
}

async function md5(file: string): Promise<string> {
  return createHash('md5').update(await readFile(file)).digest('hex')
}

/** rclone's view of s3:REMOTE equals the tree at `site`: the same keys, bytes (md5), Content-Type and Cache-Control, plus the record. */
async function assertBucketMatches(server: TestS3Server, remote: string, site: string): Promise<void> {
  const expected = await expectedObjects(site)
  const listed = await rcloneObjects(server, remote)
  assert.ok(listed.has('.zreg-publish.json'), 'the record of the publish is in the bucket')
  listed.delete('.zreg-publish.json')
  assert.deepEqual([...listed.keys()].sort(), [...expected.keys()].sort())
  for (const [key, want] of expected) {
    const got = listed.get(key)!
    assert.equal(got.Hashes?.md5, await md5(want.file), `${key} bytes`)
    assert.equal(got.Metadata?.['content-type'], want.contentType, `${key} Content-Type`)
    assert.equal(got.Metadata?.['cache-control'], want.cacheControl, `${key} Cache-Control`)
  }
}

function publishArgs(server: TestS3Server, target: string, site: string, extra: string[] = []): string[] {
  return ['publish', target, '--out', site, '--endpoint', server.endpoint, '--path-style', '--json', ...extra]
}

async function publish(server: TestS3Server, target: string, site: string, extra: string[] = []): Promise<Summary> {
  return JSON.parse((await zregOk(publishArgs(server, target, site, extra), { env: server.env(), extendEnv: false })).stdout) as Summary
}

describe('zreg publish s3://', () => {
  let server: TestS3Server
  before(async () => {
    server = await startS3Server(['bucket', 'other', 'site'], { website: ['site'] })
  })
  after(async () => server?.stop())

  test('every object of the tree with its Content-Type and Cache-Control (rclone agrees); shared bytes copied server-side; --dry-run writes nothing; a republish writes nothing', async () => {
    const { site } = await sharedSite()
    const dry = await publish(server, 's3://bucket/mirror', site, ['--dry-run'])
    assert.equal((await rcloneObjects(server, 's3:bucket')).size, 0, '--dry-run wrote nothing')
    const expected = await expectedObjects(site)
    assert.equal(dry.uploaded + dry.copied, expected.size)
    assert.equal(dry.actions!.length, expected.size)

    const first = await publish(server, 's3://bucket/mirror', site)
    assert.deepEqual({ uploaded: first.uploaded, copied: first.copied, skipped: first.skipped, deleted: first.deleted }, { uploaded: dry.uploaded, copied: dry.copied, skipped: 0, deleted: 0 })
    // A tag has its manifest's bytes, and the fixtures share blobs between repositories: those are copies.
    assert.ok(first.copied > 0, 'objects with the same bytes are copied server-side')
    for (const action of dry.actions!.filter((action) => action.action === 'copy')) {
      assert.equal(await md5(expected.get(action.key)!.file), await md5(expected.get(action.from!)!.file), `${action.key} copied from an object with its bytes`)
    }
    await assertBucketMatches(server, 's3:bucket/mirror', site)

    const again = await publish(server, 's3://bucket/mirror', site)
    assert.deepEqual({ uploaded: again.uploaded, copied: again.copied, skipped: again.skipped, deleted: again.deleted, bytes: again.bytes }, { uploaded: 0, copied: 0, skipped: expected.size, deleted: 0, bytes: 0 })

    // --verify finds an object someone deleted behind the record's back and sends it again.
    const blobKey = [...expected.keys()].find((key) => key.includes('/blobs/'))!
    await server.rclone(['deletefile', `s3:bucket/mirror/${blobKey}`])
    const verified = await publish(server, 's3://bucket/mirror', site, ['--verify'])
    assert.equal(verified.uploaded + verified.copied, 1)
    await assertBucketMatches(server, 's3:bucket/mirror', site)
  })

  test('a one-tag change writes only the tag and its list; the config file names the endpoint; --delete removes what the tree no longer has', async () => {
    const dir = await tempDir('publish-s3-change')
    const store = ['--store', join(dir, 'store')]
    const site = join(dir, 'site')
    await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.0', ...store])
    await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), '--name', 'app/two:1.0', ...store])
    await zregOk(['build', ...store, '--out', site])
    const config = join(dir, 'zreg.json')
    await writeFile(config, JSON.stringify({ out: site, publish: { endpoint: '${S3_ENDPOINT}', pathStyle: true } }))
    const viaConfig = async (extra: string[] = []) =>
      JSON.parse((await zregOk(['publish', 's3://other/site', '--config', config, '--json', ...extra], { env: server.env({ S3_ENDPOINT: server.endpoint }), extendEnv: false })).stdout) as Summary
    await viaConfig()
    await assertBucketMatches(server, 's3:other/site', site)

    await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.1', ...store])
    await zregOk(['build', ...store, '--out', site])
    server.requests.length = 0
    const change = await viaConfig()
    // What the server saw: the keys about to change (tags/list and the page) named beside the record,
    // the copy, the two uploads, the record, and the pending keys deleted.
    const writes = server.requests.filter((request) => /^(PUT|POST|DELETE) /.test(request))
    assert.equal(writes.length, 6, writes.join('\n'))
    assert.match(writes[0]!, /\.zreg-publish\.pending\.json/)
    assert.match(writes.at(-1)!, /^POST .*\?delete/)
    // manifests/1.1 (a copy of the manifest by digest), tags/list and the catalog page; the record after them.
    assert.deepEqual({ uploaded: change.uploaded, copied: change.copied, deleted: change.deleted }, { uploaded: 2, copied: 1, deleted: 0 })
    await assertBucketMatches(server, 's3:other/site', site)

    // app/two leaves the tree: kept without --delete, removed with it (and only after every write).
    const smaller = ['--store', join(dir, 'store-2')]
    await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.0', ...smaller])
    await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'app/one:1.1', ...smaller])
    await zregOk(['build', ...smaller, '--out', site])
    const kept = await viaConfig()
    assert.equal(kept.deleted, 0)
    assert.ok([...(await rcloneObjects(server, 's3:other/site')).keys()].some((key) => key.startsWith('v2/app/two/')), 'without --delete the old repository stays')
    const dryDelete = await viaConfig(['--delete', '--dry-run'])
    assert.ok(dryDelete.deleted > 0)
    assert.ok([...(await rcloneObjects(server, 's3:other/site')).keys()].some((key) => key.startsWith('v2/app/two/')), '--dry-run deleted nothing')
    const deleted = await viaConfig(['--delete'])
    assert.equal(deleted.deleted, dryDelete.deleted)
    await assertBucketMatches(server, 's3:other/site', site)
  })

  test('a publish killed part way never leaves a tag naming a missing object, and a rerun finishes it', async () => {
    const dir = await tempDir('publish-s3-kill')
    await makeScaleStore(join(dir, 'store-a'), 40, 2)
    await makeScaleStore(join(dir, 'store-b'), 40, 3)
    const site = join(dir, 'site')
    const client = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3Credentials.AWS_ACCESS_KEY_ID, secretAccessKey: s3Credentials.AWS_SECRET_ACCESS_KEY } })
    const list = async () => {
      const keys = new Set<string>()
      let token: string | undefined
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'kill/', ContinuationToken: token }))
        for (const object of page.Contents ?? []) keys.add(object.Key!.slice('kill/'.length))
        token = page.NextContinuationToken
      } while (token)
      return keys
    }
    /** Every tag in the bucket names a manifest whose config and layers are there (indexes: whose manifests are). */
    const checkTags = async () => {
      const keys = await list()
      for (const key of keys) {
        const match = /^v2\/(.+)\/manifests\/([^/]+)$/.exec(key)
        if (!match || digestName.test(match[2]!)) continue
        const body = await (await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: `kill/${key}` }))).Body!.transformToString()
        const manifest = JSON.parse(body) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] }
        for (const blob of [manifest.config, ...(manifest.layers ?? [])].filter((x) => x !== undefined)) assert.ok(keys.has(`v2/${match[1]}/blobs/${blob.digest}`), `${key} names a missing blob ${blob.digest}`)
        for (const child of manifest.manifests ?? []) assert.ok(keys.has(`v2/${match[1]}/manifests/${child.digest}`), `${key} names a missing manifest`)
      }
      return keys.size
    }
    const killedRun = async (threshold: number) => {
      const child = execa(cliPath, publishArgs(server, 's3://bucket/kill', site, ['--jobs', '4']), { env: server.env(), extendEnv: false, reject: false, stdin: 'ignore' })
      let checks = 0
      let killed = false
      server.requests.length = 0
      // One loop kills after `threshold` writes (PUT: uploads and copies) of this run; the other checks the tags meanwhile.
      const killer = (async () => {
        while (child.exitCode === null && !killed) {
          if (server.requests.filter((request) => request.startsWith('PUT ')).length >= threshold) {
            child.kill('SIGKILL')
            killed = true
          }
          await new Promise((resolve) => setTimeout(resolve, 1))
        }
      })()
      const checker = (async () => {
        while (child.exitCode === null && !killed) {
          await checkTags()
          checks++
        }
      })()
      await Promise.all([killer, checker])
      const result = await child
      await checkTags()
      return { killed: result.signal === 'SIGKILL', checks }
    }
    try {
      await zregOk(['build', '--store', join(dir, 'store-a'), '--out', site])
      const first = await killedRun(30)
      assert.ok(first.killed, 'the first publish was killed part way')
      await publish(server, 's3://bucket/kill', site)
      await assertBucketMatches(server, 's3:bucket/kill', site)

      await zregOk(['build', '--store', join(dir, 'store-b'), '--out', site])
      const second = await killedRun(20)
      assert.ok(second.killed, 'the second publish was killed part way')
      await publish(server, 's3://bucket/kill', site)
      await checkTags()
      await assertBucketMatches(server, 's3:bucket/kill', site)

      // Killed part way, then the tree goes back to what the record last vouched for: the keys the
      // killed run was changing are checked again, not trusted.
      await zregOk(['build', '--store', join(dir, 'store-a'), '--out', site])
      const third = await killedRun(20)
      assert.ok(third.killed, 'the third publish was killed part way')
      await zregOk(['build', '--store', join(dir, 'store-b'), '--out', site])
      await publish(server, 's3://bucket/kill', site)
      await assertBucketMatches(server, 's3:bucket/kill', site)
    } finally {
      client.destroy()
    }
  })

  test('skopeo pulls every OCI fixture from the bucket served as a website (no Docker-Content-Digest, no Accept negotiation); s3-metadata.json agrees with the bucket', async () => {
    const { site } = await sharedSite()
    await publish(server, 's3://site', site)
    const fixtures = await loadFixtures()
    const dir = await tempDir('publish-s3-pull')
    const proxy = { ...cleanEnv(), HTTP_PROXY: server.endpoint, http_proxy: server.endpoint }
    for (const image of fixtures.images.filter((candidate) => candidate.id.startsWith('oci/'))) {
      const index = image.mediaType === 'application/vnd.oci.image.index.v1+json'
      const into = join(dir, image.id.replace(/\//g, '_'))
      // skopeo tries https first, through a proxy that cannot CONNECT, then plain http.
      await execa('skopeo', ['copy', '--retry-times', '0', '--src-tls-verify=false', ...(index ? ['--all'] : []), `docker://site.s3-website.amazonaws.com/${image.name}`, `dir:${into}`], { env: proxy, extendEnv: false })
      const digest = `sha256:${createHash('sha256').update(await readFile(join(into, 'manifest.json'))).digest('hex')}`
      assert.equal(digest, image.digest, image.name)
    }
    const missing = await execa('skopeo', ['inspect', '--tls-verify=false', 'docker://site.s3-website.amazonaws.com/fixtures/single:missing'], { env: proxy, extendEnv: false, reject: false })
    assert.notEqual(missing.exitCode, 0)
    assert.match(missing.stderr, /404/)

    const { files } = await s3Host.configure({ tree: site, root: '/', listen: '127.0.0.1:8080' })
    const metadata = JSON.parse(files.find((file) => file.name === 's3-metadata.json')!.contents) as Record<string, Record<string, string>>
    const listed = await rcloneObjects(server, 's3:site')
    listed.delete('.zreg-publish.json')
    assert.deepEqual(Object.keys(metadata).sort(), [...listed.keys()].sort())
    for (const [key, headers] of Object.entries(metadata)) {
      assert.equal(headers['Content-Type'], listed.get(key)!.Metadata?.['content-type'], key)
      assert.equal(headers['Cache-Control'], listed.get(key)!.Metadata?.['cache-control'], key)
    }
  })

  test('a blob over the multipart threshold goes up in parts, streamed, and arrives whole', async () => {
    const dir = await tempDir('publish-s3-large')
    const large = await makeLargeImage(dir, 70 * 1024 * 1024)
    const store = ['--store', join(dir, 'store')]
    const site = join(dir, 'site')
    await zregOk(['add', `oci:${large.layout}`, ...store])
    await zregOk(['build', ...store, '--out', site])
    server.requests.length = 0
    const summary = await publish(server, 's3://bucket/large', site)
    assert.equal(summary.bytes >= large.layer.size, true)
    const key = `large/v2/${large.ref.split(':')[0]}/blobs/${large.layer.digest}`
    const parts = server.requests.filter((request) => request.startsWith('PUT ') && decodeURIComponent(request).includes(`/bucket/${key}?`) && /[?&]partNumber=/.test(request))
    assert.equal(parts.length, Math.ceil(large.layer.size / (8 * 1024 * 1024)), 'uploaded in 8 MiB parts')
    const head = await new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3Credentials.AWS_ACCESS_KEY_ID, secretAccessKey: s3Credentials.AWS_SECRET_ACCESS_KEY } }).send(new HeadObjectCommand({ Bucket: 'bucket', Key: key }))
    assert.equal(head.ContentLength, large.layer.size)
    assert.equal(head.CacheControl, immutable)
    const sum = await server.rclone(['md5sum', '--download', `s3:bucket/${key}`])
    assert.equal(sum.split(/\s/)[0], createHash('md5').update(large.layer.bytes).digest('hex'))
  })

  test('wrong credentials, a missing bucket, an unreachable endpoint and a bad target: clear errors, exit codes, nothing written', async () => {
    const { site } = await sharedSite()
    const run = async (target: string, env: Record<string, string>, endpoint = server.endpoint) => {
      const result = await zreg(['publish', target, '--out', site, '--endpoint', endpoint, '--path-style', '--json'], { env, extendEnv: false })
      return { exitCode: result.exitCode, error: (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error }
    }
    const denied = await run('s3://bucket/denied', server.env({ AWS_ACCESS_KEY_ID: 'WRONG' }))
    assert.equal(denied.exitCode, 5)
    assert.equal(denied.error.code, 'S3_ACCESS_DENIED')
    assert.match(denied.error.message, /refused the credentials/)
    const missing = await run('s3://no-such-bucket/x', server.env())
    assert.deepEqual([missing.exitCode, missing.error.code], [3, 'BUCKET_NOT_FOUND'])
    assert.match(missing.error.message, /no-such-bucket/)
    const closed = `http://127.0.0.1:${await freePort()}`
    const unreachable = await run('s3://bucket/x', server.env(), closed)
    assert.deepEqual([unreachable.exitCode, unreachable.error.code], [5, 'CONNECTION_FAILED'])
    assert.ok(unreachable.error.message.includes(closed), 'the message names the endpoint')
    const bad = await run('ftp://bucket/x', server.env())
    assert.deepEqual([bad.exitCode, bad.error.code], [2, 'PUBLISH_TARGET_INVALID'])
    const listed = await rcloneObjects(server, 's3:bucket')
    assert.ok(![...listed.keys()].some((key) => key.startsWith('denied/') || key.startsWith('x/')), 'nothing was written')
  })
})
