import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zregOk } from '../helpers/cli.js'
import { adversarialCases, adversarialImages, checkCase, deep } from '../helpers/adversarial-names.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { copyTree, startCaddy, startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

/**
 * Tags that differ only in case, tags that look like regular expressions, names that are nginx map
 * keywords, 128-character tags on a 255-character name, deep names: every server of a built tree (and
 * push mode, over the store) answers them exactly, and unknown names (another case, another
 * repository) 404 with the OCI error body.
 */
describe('adversarial names in the generated server configurations', () => {
  let site: string
  let servers: { name: string; server: TestServer }[] = []
  let image: (id: string) => FixtureImage
  before(async () => {
    const fixtures = await loadFixtures()
    image = (id) => fixtures.images.find((candidate) => candidate.id === id)!
    const dir = await tempDir('adversarial')
    const store = join(dir, 'store')
    site = join(dir, 'site')
    for (const [id, name] of adversarialImages) await zregOk(['add', absoluteSource(image(id).source), '--name', name, '--store', store])
    await zregOk(['build', '--store', store, '--out', site])
    // Caddy serves a `cp -a` copy of the tree, deployed elsewhere, as a web host would.
    const copy = await copyTree(site, 'adversarial-copy')
    servers = [
      { name: 'nginx', server: await startNginx(site) },
      { name: 'caddy', server: await startCaddy(copy, { root: copy }) },
      { name: 'zreg serve', server: await startZregServe(site) },
      { name: 'push mode', server: await startZregPush(store, join(dir, 'pushed-site')) },
    ]
  })
  after(async () => {
    for (const { server } of servers) await server.stop()
  })

  test('nginx -t accepts the generated standalone configuration', async () => {
    const prefix = await tempDir('adversarial-nginx-t')
    await zregOk(['server-config', '--for', 'nginx', '--out', site, '--output', join(prefix, 'conf')])
    const result = await execa('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'conf', 'nginx.conf')], { all: true })
    assert.match(result.all, /test is successful/)
  })

  test('every server answers each adversarial name exactly', async () => {
    const cases = adversarialCases(image)
    for (const { name, server } of servers) for (const expected of cases) await checkCase(name, server.url, expected)
  })

  test('podman pulls through caddy each of two tags that differ only in case, and a deep name', async () => {
    const caddy = servers.find((candidate) => candidate.name === 'caddy')!.server
    // (The 255-character name is beyond podman, which counts the registry host in the limit.)
    const storage = await mkdtemp(join(tmpdir(), 'zreg-adv-'))
    const base = ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'vfs']
    try {
      const pulls: [string, FixtureImage][] = [
        ['cases/app:v1.0-rc1', image('oci/single')],
        ['cases/app:v1.0-RC1', image('oci/multi-layer')],
        [`${deep}:_x`, image('oci/single')],
      ]
      for (const [reference, expected] of pulls) {
        const pulled = await execa('podman', [...base, 'pull', '--tls-verify=false', `${caddy.authority}/${reference}`], { reject: false, timeout: 120_000 })
        assert.equal(pulled.exitCode, 0, `${reference}: ${pulled.stderr}`)
        assert.equal(`sha256:${pulled.stdout.trim().split('\n').at(-1)}`, expected.configDigest, reference)
        const inspected = await execa('podman', [...base, 'image', 'inspect', '--format', '{{json .RepoDigests}}', `${caddy.authority}/${reference}`])
        assert.ok((JSON.parse(inspected.stdout) as string[]).some((entry) => entry.endsWith(`@${expected.digest}`)), `${reference}: ${inspected.stdout}`)
      }
    } finally {
      await rm(storage, { recursive: true, force: true })
    }
  })

  test('skopeo pulls each of two tags that differ only in case', async () => {
    const dir = await tempDir('adversarial-pull')
    for (const { server } of servers) {
      assert.equal(await skopeoPull(`docker://${server.authority}/cases/app:v1.0-rc1`, join(dir, `${server.authority}-lower`)), image('oci/single').digest)
      assert.equal(await skopeoPull(`docker://${server.authority}/cases/app:v1.0-RC1`, join(dir, `${server.authority}-upper`)), image('oci/multi-layer').digest)
    }
  })
})
