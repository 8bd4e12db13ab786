import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { zregOk } from '../helpers/cli.js'
import { rawRequest } from '../helpers/http.js'
import { absoluteSource, loadFixtures, tempDir } from '../helpers/paths.js'
import { startCaddy, startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'

const immutable = 'public, max-age=31536000, immutable'
const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' }

/** What a server says caches may do with a tag, a manifest by digest, a blob, the tag list and an empty referrers list. */
async function cacheHeaders(server: TestServer, digest: string, blob: string): Promise<(string | undefined)[]> {
  const paths = ['/v2/fixtures/single/manifests/1.0', `/v2/fixtures/single/manifests/${digest}`, `/v2/fixtures/single/blobs/${blob}`, '/v2/fixtures/single/tags/list', `/v2/fixtures/single/referrers/${blob}`]
  const answers = await Promise.all(paths.map((path) => rawRequest(server.url, 'HEAD', path, accept)))
  return answers.map((answer) => answer.headers['cache-control'] as string | undefined)
}

test('build --cache-max-age sets what zreg serve, nginx and Caddy send for tags; push mode revalidates tags; digests are immutable', async () => {
  const single = (await loadFixtures()).images.find((image) => image.id === 'oci/single')!
  const blob = single.blobs!.find((digest) => digest !== single.configDigest)!
  const dir = await tempDir('cache-control')
  const store = join(dir, 'store')
  await zregOk(['add', absoluteSource(single.source), '--store', store, '--name', 'fixtures/single:1.0'])

  const site = join(dir, 'site')
  await zregOk(['build', '--store', store, '--out', site, '--cache-max-age', '300'])
  for (const start of [() => startZregServe(site), () => startNginx(site), () => startCaddy(site)]) {
    const server = await start()
    try {
      assert.deepEqual(await cacheHeaders(server, single.digest!, blob), ['public, max-age=300', immutable, immutable, 'public, max-age=300', 'public, max-age=300'])
    } finally {
      await server.stop()
    }
  }

  // 0: caches revalidate every time; a rebuild with only this changed swaps in a new generation.
  await zregOk(['build', '--store', store, '--out', site, '--cache-max-age', '0'])
  const serve = await startZregServe(site)
  try {
    assert.deepEqual(await cacheHeaders(serve, single.digest!, blob), ['no-cache', immutable, immutable, 'no-cache', 'no-cache'])
  } finally {
    await serve.stop()
  }

  const push = await startZregPush(store, join(dir, 'push-site'))
  try {
    assert.deepEqual(await cacheHeaders(push, single.digest!, blob), ['no-cache', immutable, immutable, 'no-cache', 'no-cache'])
  } finally {
    await push.stop()
  }
})
