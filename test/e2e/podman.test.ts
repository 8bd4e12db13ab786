import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoJson } from '../helpers/skopeo.js'
import { podman } from '../helpers/podman.js'

describe('podman against push mode', () => {
  let dir: string
  let storage: string
  let push: TestServer
  let image: FixtureImage
  before(async () => {
    dir = await tempDir('podman')
    storage = await mkdtemp(join(tmpdir(), 'zreg-podman-'))
    const users = join(dir, 'users.htpasswd')
    await execa('htpasswd', ['-B', '-b', '-c', users, 'alice', 'alice-secret'])
    push = await startZregPush(join(dir, 'store'), join(dir, 'site'), ['--auth', `htpasswd:${users}`])
    image = (await loadFixtures()).images.find((candidate) => candidate.id === 'oci/multi-layer')!
  })
  after(async () => {
    await push?.stop()
    await rm(storage, { recursive: true, force: true })
  })

  test('podman pushes with its token login, and podman, skopeo via zreg serve read the same image back', async () => {
    const local = podman(join(storage, 'pusher'))
    const loaded = await local(['pull', absoluteSource(image.source)])
    assert.equal(loaded.exitCode, 0, loaded.stderr)
    const id = loaded.stdout.trim().split('\n').at(-1)!
    const target = `docker://${push.authority}/team/podman:1`
    const anonymous = await local(['push', '--tls-verify=false', id, target])
    assert.notEqual(anonymous.exitCode, 0, 'an anonymous push is refused')
    assert.match(anonymous.stderr, /unauthorized|authentication required/)
    const pushed = await local(['push', '--tls-verify=false', '--creds', 'alice:alice-secret', id, target])
    assert.equal(pushed.exitCode, 0, pushed.stderr)

    // podman compresses the layers on the way, so the manifest is its own; the config is the image's.
    const puller = podman(join(storage, 'puller'))
    const pulled = await puller(['pull', '--tls-verify=false', `${push.authority}/team/podman:1`])
    assert.equal(pulled.exitCode, 0, pulled.stderr)
    assert.equal(`sha256:${pulled.stdout.trim().split('\n').at(-1)}`, image.configDigest)

    const serve = await startZregServe(join(dir, 'site'))
    try {
      const manifest = (await skopeoJson(['inspect', '--tls-verify=false', '--raw', `docker://${serve.authority}/team/podman:1`])) as { config: { digest: string } }
      assert.equal(manifest.config.digest, image.configDigest, 'the rebuilt static tree serves what podman pushed')
      const fromTree = await podman(join(storage, 'tree-puller'))(['pull', '--tls-verify=false', `${serve.authority}/team/podman:1`])
      assert.equal(fromTree.exitCode, 0, fromTree.stderr)
    } finally {
      await serve.stop()
    }
  })
})
