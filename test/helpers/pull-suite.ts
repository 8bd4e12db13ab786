import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { join } from 'node:path'
import { zregOk } from './cli.js'
import { loadFixtures, tempDir, type Fixtures } from './paths.js'
import { checkConditionalGet, readContract, runReadContract } from './read-contract.js'
import { sharedSite, type SharedSite } from './shared-site.js'
import { skopeoJson, skopeoPull } from './skopeo.js'
import type { TestServer } from './servers.js'

/**
 * What every server of a built tree must do for real clients: the HTTP contract, and skopeo pulls of
 * every fixture with digests equal to the source's.
 */
export function pullSuite(serverName: string, start: (site: SharedSite) => Promise<TestServer>): void {
  describe(`pulling from ${serverName}`, () => {
    let server: TestServer
    let fixtures: Fixtures
    let site: SharedSite
    before(async () => {
      site = await sharedSite()
      fixtures = await loadFixtures()
      server = await start(site)
    })
    after(async () => server?.stop())

    test('answers the distribution-spec read contract', async () => {
      await runReadContract(server.url, serverName, readContract(fixtures))
    })

    test('answers a conditional GET with 304', async () => {
      await checkConditionalGet(server.url, '/v2/fixtures/single/manifests/1.0')
    })

    test('skopeo copy pulls every OCI fixture with the source digest (--all for the index)', async () => {
      const dir = await tempDir('pull')
      for (const image of fixtures.images.filter((candidate) => candidate.id.startsWith('oci/'))) {
        const index = image.mediaType === 'application/vnd.oci.image.index.v1+json'
        const digest = await skopeoPull(`docker://${server.authority}/${image.name}`, join(dir, image.id.replace(/\//g, "_")), { all: index })
        assert.equal(digest, image.digest, image.name)
      }
      const archived = fixtures.images.find((candidate) => candidate.id === 'oci-archive/single')!
      assert.equal(await skopeoPull(`docker://${server.authority}/archived/single:1.0`, join(dir, 'archived')), archived.digest)
    })

    test('skopeo copy pulls the images converted from docker-archive with the digests zreg stored', async () => {
      const listing = JSON.parse((await zregOk(['ls', '--store', site.store, '--json'])).stdout) as {
        repositories: { name: string; tags: { tag: string; digest: string }[] }[]
      }
      const dir = await tempDir('pull-docker')
      for (const repository of listing.repositories.filter((candidate) => candidate.name.startsWith('docker'))) {
        for (const tag of repository.tags) {
          const digest = await skopeoPull(`docker://${server.authority}/${repository.name}:${tag.tag}`, join(dir, `${repository.name.replace(/\//g, "_")}-${tag.tag}`))
          assert.equal(digest, tag.digest, `${repository.name}:${tag.tag}`)
        }
      }
    })

    test('skopeo inspect and list-tags see the tree', async () => {
      const single = fixtures.images.find((candidate) => candidate.id === 'oci/single')!
      const inspected = (await skopeoJson(['inspect', '--tls-verify=false', `docker://${server.authority}/fixtures/single:1.0`])) as { Digest: string; RepoTags: string[]; Architecture: string }
      assert.equal(inspected.Digest, single.digest)
      assert.deepEqual(inspected.RepoTags, ['1.0', 'sbom'])
      assert.equal(inspected.Architecture, 'amd64')
      const tags = (await skopeoJson(['list-tags', '--tls-verify=false', `docker://${server.authority}/dockerold/tool`])) as { Tags: string[] }
      assert.deepEqual(tags.Tags, ['2.0', 'latest'])
      const arm = (await skopeoJson(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${server.authority}/fixtures/multi-arch:1.0`])) as { Architecture: string }
      assert.equal(arm.Architecture, 'arm64')
    })
  })
}
