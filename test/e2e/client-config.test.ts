import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { zreg, zregOk } from '../helpers/cli.js'
import { startContainerd, type Containerd } from '../helpers/containerd.js'
import { absoluteSource, fixturesDir, loadFixtures, tempDir, type FixtureImage } from '../helpers/paths.js'
import { pushFixture, startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js'
import { startZregServe, type TestServer } from '../helpers/servers.js'
import { podman } from '../helpers/podman.js'

/**
 * A mirror of docker.io and of a second registry (the reference registry, the "upstream" every miss
 * falls through to): the tree names each registry first, and a change's image (an overlay) stands in
 * for the mirrored docker.io/library/app:1.
 */
describe('zreg client-config: clients pull through the mirror, and fall through to upstream', () => {
  let dir: string
  let upstream: ReferenceRegistry
  let mirror: TestServer
  let single: FixtureImage
  let multiLayer: FixtureImage
  let registries: string

  before(async () => {
    dir = await tempDir('client-config')
    const fixtures = await loadFixtures()
    single = fixtures.images.find((image) => image.id === 'oci/single')!
    multiLayer = fixtures.images.find((image) => image.id === 'oci/multi-layer')!
    upstream = await startReferenceRegistry()
    await pushFixture(join(fixturesDir, 'oci-layout'), 'fixtures/single:1.0', upstream.authority, 'only/upstream:1')
    const component = upstream.authority.replace(':', '-')
    const base = join(dir, 'mirror')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', 'docker.io/library/app:1', '--store', base])
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/single:1.0'), '--name', `${component}/team/app:1`, '--store', base])
    const change = join(dir, 'change')
    await zregOk(['add', absoluteSource('oci:oci-layout:fixtures/multi-layer:1.0'), '--name', 'docker.io/library/app:1', '--store', change])
    await zregOk(['build', '--store', base, '--overlay', change, '--out', join(dir, 'site')])
    mirror = await startZregServe(join(dir, 'site'))
    registries = `docker.io,${upstream.authority}=http://${upstream.authority}`
  })
  after(async () => {
    await mirror?.stop()
    await upstream?.stop()
  })

  test('podman with the generated registries.conf', async () => {
    const written = JSON.parse((await zregOk(['client-config', '--for', 'podman', '--url', mirror.url, '--registries', registries, '--output', join(dir, 'podman'), '--json'])).stdout) as { files: { path: string; installPath: string }[] }
    assert.equal(written.files[0]!.installPath, '/etc/containers/registries.conf.d/50-zreg-mirror.conf')
    const conf = await readFile(written.files[0]!.path, 'utf8')
    assert.match(conf, new RegExp(`\\[\\[registry\\.mirror\\]\\]\\nlocation = "${mirror.authority}/docker\\.io"\\ninsecure = true`))
    // podman refuses a run root of over 50 characters: its storage lives in a short directory.
    const storage = await mkdtemp(join(tmpdir(), 'zreg-podman-'))
    try {
      const client = podman(storage, { registries: written.files[0]!.path })
      const hit = await client(['pull', 'docker.io/library/app:1'])
      assert.equal(hit.exitCode, 0, hit.stderr)
      assert.equal((await client(['image', 'inspect', '--format', '{{.Digest}}', 'docker.io/library/app:1'])).stdout.trim(), multiLayer.digest, "the change's image, from the mirror")
      const scoped = await client(['pull', `${upstream.authority}/team/app:1`])
      assert.equal(scoped.exitCode, 0, scoped.stderr)
      assert.equal((await client(['image', 'inspect', '--format', '{{.Digest}}', `${upstream.authority}/team/app:1`])).stdout.trim(), single.digest)
      const through = await client(['pull', `${upstream.authority}/only/upstream:1`])
      assert.equal(through.exitCode, 0, `a name only upstream falls through: ${through.stderr}`)
      assert.equal((await client(['image', 'inspect', '--format', '{{.Digest}}', `${upstream.authority}/only/upstream:1`])).stdout.trim(), single.digest)
    } finally {
      await rm(storage, { recursive: true, force: true })
    }
  })

  test('containerd with the generated hosts.toml files', async () => {
    const hostsDir = join(dir, 'certs.d')
    await zregOk(['client-config', '--for', 'containerd', '--url', mirror.url, '--registries', registries, '--output', hostsDir])
    assert.match(await readFile(join(hostsDir, 'docker.io', 'hosts.toml'), 'utf8'), /^server = "https:\/\/registry-1\.docker\.io"$/m)
    const containerd: Containerd = await startContainerd()
    try {
      const hit = await containerd.pull('docker.io/library/app:1', { hostsDir, namespace: 'hit' })
      assert.equal(hit.exitCode, 0, hit.output)
      assert.equal(await containerd.imageDigest('docker.io/library/app:1', 'hit'), multiLayer.digest)
      const through = await containerd.pull(`${upstream.authority}/only/upstream:1`, { hostsDir, namespace: 'through' })
      assert.equal(through.exitCode, 0, through.output)
      assert.equal(await containerd.imageDigest(`${upstream.authority}/only/upstream:1`, 'through'), single.digest)
    } finally {
      await containerd.stop()
    }
  })

  test('docker: daemon.json for docker.io only; CRI-O: a registries.conf drop-in', async () => {
    const docker = JSON.parse((await zregOk(['client-config', '--for', 'docker', '--url', 'http://10.0.0.5:5000'])).stdout) as Record<string, string[]>
    assert.deepEqual(docker, { 'registry-mirrors': ['http://10.0.0.5:5000'], 'insecure-registries': ['10.0.0.5:5000'] })
    const refused = await zreg(['client-config', '--for', 'docker', '--url', 'https://mirror.example.com', '--registries', 'docker.io,quay.io', '--json'])
    assert.equal(refused.exitCode, 2)
    assert.match((JSON.parse(refused.stdout) as { error: { message: string } }).error.message, /docker mirrors docker\.io only/)
    for (const registries of ['Quay.IO', 'docker.io,docker.io', '[fd00::5]:5000']) {
      const bad = await zreg(['client-config', '--for', 'podman', '--url', 'https://mirror.example.com', '--registries', registries])
      assert.equal(bad.exitCode, 2, registries)
    }
    // An existing daemon.json holds the daemon's other settings: not replaced.
    const dockerDir = join(dir, 'docker')
    await mkdir(dockerDir, { recursive: true })
    await writeFile(join(dockerDir, 'daemon.json'), '{ "log-driver": "journald" }\n')
    const kept = await zreg(['client-config', '--for', 'docker', '--url', 'https://mirror.example.com', '--output', dockerDir, '--json'])
    assert.equal(kept.exitCode, 5)
    assert.equal((JSON.parse(kept.stdout) as { error: { code: string } }).error.code, 'OUTPUT_EXISTS')
    assert.equal(await readFile(join(dockerDir, 'daemon.json'), 'utf8'), '{ "log-driver": "journald" }\n')
    const withPath = await zreg(['client-config', '--for', 'podman', '--url', 'https://mirror.example.com/registry'])
    assert.equal(withPath.exitCode, 2)
    assert.match(withPath.stderr, /a registry answers at the root of its host/)
    const crio = (await zregOk(['client-config', '--for', 'cri-o', '--url', 'https://mirror.example.com', '--registries', 'quay.io'])).stdout
    assert.match(crio, /\[\[registry\]\]\nprefix = "quay\.io"\nlocation = "quay\.io"\n\n\[\[registry\.mirror\]\]\nlocation = "mirror\.example\.com\/quay\.io"$/)
    assert.doesNotMatch(crio, /insecure/)
  })
})
