import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { execa } from 'execa'
import { zreg, zregOk } from '../helpers/cli.js'
import { absoluteSource, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { startZregPush, startZregServe } from '../helpers/servers.js'
import { skopeoPull } from '../helpers/skopeo.js'

interface LsJson {
  repositories: { name: string; tags: { tag: string; digest: string; source?: string; shadows?: string[] }[] }[]
}

describe('shadow overlays: stores stacked on a base', () => {
  let dir: string
  let base: string
  let overlay: string
  let single: FixtureImage
  let multiLayer: FixtureImage

  before(async () => {
    dir = await tempDir('overlay')
    base = join(dir, 'base')
    overlay = join(dir, 'change')
    const fixtures = await loadFixtures()
    single = fixtures.images.find((image) => image.id === 'oci/single')!
    multiLayer = fixtures.images.find((image) => image.id === 'oci/multi-layer')!
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--store', base])
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--store', base])
    // A change's image under the base's name, in a store of its own. A speculative overlay carries only
    // what its change adds: the layers the base holds already are dropped from it.
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--name', 'fixtures/single:1.0', '--store', overlay])
    for (const blob of multiLayer.blobs!.slice(0, 2)) await rm(join(overlay, 'blobs', ...blob.split(':')))
  })

  test('the overlay wins where both hold a tag; the rest comes from the base; blobs are shared', async () => {
    const baseIndex = await readFile(join(base, 'index.json'))
    const out = join(dir, 'site')
    const built = JSON.parse((await zregOk(['build', '--store', base, '--overlay', overlay, '--out', out, '--json'])).stdout) as { overlays: { store: string; tags: number; shadowing: number }[]; tags: number }
    assert.deepEqual(built.overlays, [{ store: overlay, tags: 1, shadowing: 1 }])
    assert.equal(built.tags, 2)
    const server = await startZregServe(out)
    try {
      assert.equal(await skopeoPull(`docker://${server.authority}/fixtures/single:1.0`, join(dir, 'pulled-single')), multiLayer.digest)
      assert.equal(await skopeoPull(`docker://${server.authority}/fixtures/multi-layer:1.0`, join(dir, 'pulled-multi')), multiLayer.digest)
    } finally {
      await server.stop()
    }
    assert.deepEqual(await readFile(join(base, 'index.json')), baseIndex, 'the base store is not touched')
    // The build records where each tag came from: the catalog page marks the overlay's (by its store's name, no path).
    const badge = '<span class="o" title="from the overlay store change">change</span>'
    const page = await readFile(join(out, 'index.html'), 'utf8')
    assert.equal(page.split(badge).length - 1, 1, 'one tag comes from the overlay')
    assert.ok(!page.includes(dir), 'no path of this machine')

    // Without the overlay, the base's image is back.
    await zregOk(['build', '--store', base, '--out', out])
    assert.ok(!(await readFile(join(out, 'index.html'), 'utf8')).includes(badge))
    const again = await startZregServe(out)
    try {
      assert.equal(await skopeoPull(`docker://${again.authority}/fixtures/single:1.0`, join(dir, 'pulled-base')), single.digest)
    } finally {
      await again.stop()
    }
  })

  test("push mode writes into the top overlay while reads and the tree see the stack (Zuul's buildset registry)", async () => {
    const change = join(dir, 'pushed-change')
    const out = join(dir, 'push-site')
    const baseIndex = await readFile(join(base, 'index.json'))
    const server = await startZregPush(base, out, ['--overlay', change])
    const registry = `docker://${server.authority}`
    try {
      // A new tag of an image the base holds: only its manifest is sent, which names the base's blobs.
      await execa('skopeo', ['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', `${registry}/fixtures/multi-layer:1.0`, `${registry}/fixtures/multi-layer:change`])
      for (const blob of multiLayer.blobs!) assert.ok(!existsSync(join(change, 'blobs', ...blob.split(':'))), `${blob} stays in the base only`)
      // The change's image under the base's name: it shadows the base's.
      await execa('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), `${registry}/fixtures/single:1.0`])
      const changeIndex = JSON.parse(await readFile(join(change, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] }
      assert.deepEqual(changeIndex.manifests.map((entry) => entry.annotations['org.opencontainers.image.ref.name']).sort(), ['fixtures/multi-layer:change', 'fixtures/single:1.0'])
      assert.equal(await skopeoPull(`${registry}/fixtures/single:1.0`, join(dir, 'push-pulled-single')), multiLayer.digest)
      assert.equal(await skopeoPull(`${registry}/fixtures/multi-layer:change`, join(dir, 'push-pulled-change')), multiLayer.digest)
      // A tag only the base holds cannot be deleted through the overlay.
      const refused = await fetch(`${server.url}/v2/fixtures/multi-layer/manifests/1.0`, { method: 'DELETE' })
      assert.equal(refused.status, 405)
      assert.match(await refused.text(), /lower store of the stack/)
      // The tree push mode keeps is built from the stack.
      const tree = await startZregServe(out)
      try {
        assert.equal(await skopeoPull(`docker://${tree.authority}/fixtures/single:1.0`, join(dir, 'tree-pulled-single')), multiLayer.digest)
        assert.equal(await skopeoPull(`docker://${tree.authority}/fixtures/multi-layer:change`, join(dir, 'tree-pulled-change')), multiLayer.digest)
      } finally {
        await tree.stop()
      }
    } finally {
      await server.stop()
    }
    assert.deepEqual(await readFile(join(base, 'index.json')), baseIndex, 'the base store is not touched')
    // The change dropped: the base's image again.
    const list = JSON.parse((await zregOk(['ls', '--store', base, '--json'])).stdout) as LsJson
    assert.equal(list.repositories.find((repository) => repository.name === 'fixtures/single')!.tags[0]!.digest, single.digest)
  })

  test('zreg ls --sources names the store each tag comes from and what it hides', async () => {
    const listed = JSON.parse((await zregOk(['ls', '--store', base, '--overlay', overlay, '--sources', '--json'])).stdout) as LsJson
    const tagOf = (name: string) => listed.repositories.find((repository) => repository.name === name)!.tags[0]!
    assert.deepEqual(tagOf('fixtures/single'), { tag: '1.0', digest: multiLayer.digest, mediaType: multiLayer.mediaType, size: multiLayer.size, source: overlay, shadows: [base] })
    assert.deepEqual({ source: tagOf('fixtures/multi-layer').source, shadows: tagOf('fixtures/multi-layer').shadows }, { source: base, shadows: [] })
    // The repository argument after --overlay stays the argument.
    const text = (await zregOk(['ls', '--store', base, '--overlay', overlay, '--sources', 'fixtures/single'])).stdout
    assert.match(text, new RegExp(`^fixtures/single:1\\.0\\t${multiLayer.digest}\\t.*\\t${overlay} \\(hides ${base}\\)$`))
    const twice = await zreg(['ls', '--store', base, '--overlay', overlay, '--overlay', `${overlay}/`, '--json'])
    assert.equal(twice.exitCode, 2)
    assert.match((JSON.parse(twice.stdout) as { error: { message: string } }).error.message, /is the same store as/)
  })

  test('overlays from the config file, and a missing overlay store refused before anything is written', async () => {
    const config = join(dir, 'zreg.json')
    await writeFile(config, JSON.stringify({ store: base, overlays: [overlay] }))
    const out = join(dir, 'site-config')
    const built = JSON.parse((await zregOk(['build', '--config', config, '--out', out, '--json'])).stdout) as { overlays: { tags: number }[] }
    assert.equal(built.overlays[0]!.tags, 1)

    const missing = join(dir, 'no-such-store')
    const refused = await zreg(['build', '--store', base, '--overlay', missing, '--out', join(dir, 'site-refused'), '--json'])
    assert.equal(refused.exitCode, 3)
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'STORE_NOT_FOUND')
    assert.ok(!existsSync(join(dir, 'site-refused')) && !existsSync(missing))
  })
})
