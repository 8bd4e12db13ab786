import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { lookupCredentials, parseCreds } from '../../src/remote/credentials.js'
import { tempDir } from '../helpers/paths.js'

const basic = (user: string, pass: string) => ({ auth: Buffer.from(`${user}:${pass}`).toString('base64') })

/** A temp HOME and XDG_RUNTIME_DIR, and an env naming them (nothing from the real user leaks in). */
async function home(files: { docker?: unknown; containers?: unknown; runtime?: unknown; authFile?: unknown }): Promise<NodeJS.ProcessEnv> {
  const dir = await tempDir('creds')
  const env: NodeJS.ProcessEnv = { HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run') }
  const put = async (path: string, content: unknown) => {
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content))
  }
  if (files.docker !== undefined) await put(join(env.HOME!, '.docker', 'config.json'), files.docker)
  if (files.containers !== undefined) await put(join(env.HOME!, '.config', 'containers', 'auth.json'), files.containers)
  if (files.runtime !== undefined) await put(join(env.XDG_RUNTIME_DIR!, 'containers', 'auth.json'), files.runtime)
  if (files.authFile !== undefined) {
    env.REGISTRY_AUTH_FILE = join(dir, 'custom-auth.json')
    await put(env.REGISTRY_AUTH_FILE, files.authFile)
  }
  return env
}

test('--creds USER:PASS; USER alone takes $ZREG_PASSWORD, else a USAGE error saying so', () => {
  assert.deepEqual(parseCreds('alice:s3:cr3t', {}), { username: 'alice', password: 's3:cr3t' })
  assert.deepEqual(parseCreds('alice:', {}), { username: 'alice', password: '' })
  assert.deepEqual(parseCreds('alice', { ZREG_PASSWORD: 'pw' }), { username: 'alice', password: 'pw' })
  assert.throws(() => parseCreds('alice', {}), (e: unknown) => e instanceof ZregError && e.code === 'USAGE' && /ZREG_PASSWORD/.test(e.message))
  assert.throws(() => parseCreds(':pw', {}), (e: unknown) => e instanceof ZregError && e.code === 'USAGE' && /no user/.test(e.message))
})

test('precedence: --creds, $ZREG_CREDS, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR, ~/.config/containers, ~/.docker', async () => {
  const ref = { registry: 'quay.io', repository: 'team/app' }
  const all = {
    authFile: { auths: { 'quay.io': basic('file', 'p1') } },
    runtime: { auths: { 'quay.io': basic('runtime', 'p2') } },
    containers: { auths: { 'quay.io': basic('containers', 'p3') } },
    docker: { auths: { 'quay.io': basic('docker', 'p4') } },
  }
  const env = await home(all)
  assert.deepEqual(await lookupCredentials(ref, { creds: { username: 'flag', password: 'f' }, env: { ...env, ZREG_CREDS: 'envuser:e' } }), { credentials: { username: 'flag', password: 'f' }, source: '--creds' })
  assert.deepEqual(await lookupCredentials(ref, { env: { ...env, ZREG_CREDS: 'envuser:e' } }), { credentials: { username: 'envuser', password: 'e' }, source: '$ZREG_CREDS' })
  assert.deepEqual(await lookupCredentials(ref, { env }), { credentials: { username: 'file', password: 'p1' }, source: `$REGISTRY_AUTH_FILE (${env.REGISTRY_AUTH_FILE})` })
  const runtime = await home({ ...all, authFile: undefined })
  assert.deepEqual(await lookupCredentials(ref, { env: runtime }), { credentials: { username: 'runtime', password: 'p2' }, source: join(runtime.XDG_RUNTIME_DIR!, 'containers', 'auth.json') })
  const containers = await home({ containers: all.containers, docker: all.docker })
  assert.deepEqual(await lookupCredentials(ref, { env: containers }), { credentials: { username: 'containers', password: 'p3' }, source: '~/.config/containers/auth.json' })
  const docker = await home({ docker: all.docker })
  assert.deepEqual(await lookupCredentials(ref, { env: docker }), { credentials: { username: 'docker', password: 'p4' }, source: '~/.docker/config.json' })
  assert.deepEqual(await lookupCredentials({ registry: 'ghcr.io', repository: 'x' }, { env: docker }), {}, 'nothing for another registry')
  // A file without this registry does not stop the search.
  const later = await home({ runtime: { auths: { 'ghcr.io': basic('g', 'g') } }, docker: all.docker })
  assert.equal((await lookupCredentials(ref, { env: later })).credentials?.username, 'docker')
})

test('keys: the most specific repository key wins; schemes and docker.io legacy keys; username/password entries', async () => {
  const env = await home({
    docker: {
      auths: {
        'quay.io': basic('host', 'h'),
        'quay.io/team': basic('namespace', 'n'),
        'quay.io/team/app': basic('repo', 'r'),
        'https://index.docker.io/v1/': basic('hub', 'd'),
        'http://127.0.0.1:5000': { username: 'local', password: 'l' },
        'ghcr.io/': basic('trailing', 't'),
      },
    },
  })
  const user = async (registry: string, repository: string) => (await lookupCredentials({ registry, repository }, { env })).credentials?.username
  assert.equal(await user('quay.io', 'team/app'), 'repo')
  assert.equal(await user('quay.io', 'team/other'), 'namespace')
  assert.equal(await user('quay.io', 'teamx/app'), 'host')
  assert.equal(await user('quay.io', 'other/app'), 'host')
  assert.equal(await user('docker.io', 'library/busybox'), 'hub')
  assert.equal(await user('index.docker.io', 'library/busybox'), 'hub')
  assert.equal(await user('127.0.0.1:5000', 'up/small'), 'local')
  assert.equal(await user('ghcr.io', 'a/b'), 'trailing')
  const modern = await home({ containers: { auths: { 'docker.io': basic('modern', 'm'), 'docker.io/library/busybox': basic('busybox', 'b') } } })
  assert.equal((await lookupCredentials({ registry: 'docker.io', repository: 'library/busybox' }, { env: modern })).credentials?.username, 'busybox')
  assert.equal((await lookupCredentials({ registry: 'docker.io', repository: 'library/alpine' }, { env: modern })).credentials?.username, 'modern')
})

test('credential helpers are reported (credHelpers for the registry, or credsStore), not run; credentials elsewhere still win', async () => {
  const helpers = await home({ docker: { auths: { 'quay.io': {} }, credHelpers: { 'quay.io': 'ecr-login', 'ghcr.io': 'gh' }, credsStore: 'desktop' } })
  assert.deepEqual(await lookupCredentials({ registry: 'quay.io', repository: 'x/y' }, { env: helpers }), { helper: 'docker-credential-ecr-login', source: '~/.docker/config.json' })
  assert.deepEqual(await lookupCredentials({ registry: 'docker.io', repository: 'library/x' }, { env: helpers }), { helper: 'docker-credential-desktop', source: '~/.docker/config.json' })
  const both = await home({ containers: { auths: { 'quay.io': basic('podman', 'p') } }, docker: { credHelpers: { 'quay.io': 'ecr-login' } } })
  assert.deepEqual(await lookupCredentials({ registry: 'quay.io', repository: 'x/y' }, { env: both }), { credentials: { username: 'podman', password: 'p' }, source: '~/.config/containers/auth.json' })
})

test('a file that is not valid JSON, or an auth entry that is not USER:PASS, is AUTH_FILE_INVALID naming it', async () => {
  const broken = await home({ authFile: '{"auths": {' })
  await assert.rejects(lookupCredentials({ registry: 'quay.io', repository: 'x' }, { env: broken }), (e: unknown) => e instanceof ZregError && e.code === 'AUTH_FILE_INVALID' && e.message.startsWith(`$REGISTRY_AUTH_FILE (${broken.REGISTRY_AUTH_FILE}) is not valid JSON`))
  const array = await home({ docker: '[]' })
  await assert.rejects(lookupCredentials({ registry: 'quay.io', repository: 'x' }, { env: array }), (e: unknown) => e instanceof ZregError && e.code === 'AUTH_FILE_INVALID' && /~\/\.docker\/config\.json is not a JSON object/.test(e.message))
  const bad = await home({ docker: { auths: { 'quay.io': { auth: Buffer.from('nocolon').toString('base64') } } } })
  await assert.rejects(lookupCredentials({ registry: 'quay.io', repository: 'x' }, { env: bad }), (e: unknown) => e instanceof ZregError && e.code === 'AUTH_FILE_INVALID' && /auths\["quay\.io"\]\.auth is not base64 of USER:PASSWORD/.test(e.message))
})
