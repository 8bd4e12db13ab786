import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zregOk } from '../helpers/cli.js'
import { adversarialCases, adversarialImages, checkCase } from '../helpers/adversarial-names.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { startNginx, startZregPush, startZregServe, type TestServer } from '../helpers/servers.js'
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
    servers = [
      { name: 'nginx', server: await startNginx(site) },
      { name: 'zreg serve', server: await startZregServe(site) },
      { name: 'push mode', server: await startZregPush(store, join(dir, 'pushed-site')) },
    ]
  })
  after(async () => {
    for (const { server } of servers) await server.stop()
  })

  test('nginx -t accepts the generated standalone configuration', async () => {
    const prefix = await tempDir('adversarial-nginx-t')
    const result = await execa('nginx', ['-t', '-p', prefix, '-c', join(site, '.zreg', 'nginx.conf')], { all: true })
    assert.match(result.all, /test is successful/)
  })

  test('every server answers each adversarial name exactly', async () => {
    const cases = adversarialCases(image)
    for (const { name, server } of servers) for (const expected of cases) await checkCase(name, server.url, expected)
  })

  test('skopeo pulls each of two tags that differ only in case', async () => {
    const dir = await tempDir('adversarial-pull')
    for (const { server } of servers) {
      assert.equal(await skopeoPull(`docker://${server.authority}/cases/app:v1.0-rc1`, join(dir, `${server.authority}-lower`)), image('oci/single').digest)
      assert.equal(await skopeoPull(`docker://${server.authority}/cases/app:v1.0-RC1`, join(dir, `${server.authority}-upper`)), image('oci/multi-layer').digest)
    }
  })
})
