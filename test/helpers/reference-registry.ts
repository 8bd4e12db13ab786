import { appendFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { tempDir } from './paths.js'
import { freePort, type TestServer } from './servers.js'

export interface ReferenceRegistryOptions {
  /** Users of an htpasswd file (bcrypt, written by apache2-utils' htpasswd): the registry then wants Basic auth. */
  users?: { username: string; password: string }[]
}

export interface ReferenceRegistry extends TestServer {
  /** The registry's storage root (filesystem driver). */
  root: string
  /** What the registry printed, for a failing test's message. */
  log: () => string
}

/**
 * The reference registry (Debian's `docker-registry`, distribution 2.8) on a free loopback port over
 * plain http, with a fresh filesystem root under test/.work, deletes enabled, and with `users` htpasswd
 * Basic auth. Resolves once GET /v2/ answers (200, or 401 with auth). stop() ends it and waits.
 */
export async function startReferenceRegistry(options: ReferenceRegistryOptions = {}): Promise<ReferenceRegistry> {
  const dir = await tempDir('distribution')
  const root = join(dir, 'root')
  const port = await freePort()
  let auth = ''
  if (options.users !== undefined && options.users.length > 0) {
    const file = join(dir, 'htpasswd')
    await writeFile(file, '')
    for (const user of options.users) {
      const { stdout } = await execa('htpasswd', ['-Bbn', user.username, user.password])
      await appendFile(file, `${stdout.trim()}\n`)
    }
    auth = `auth:
  htpasswd:
    realm: zreg-test
    path: ${file}
`
  }
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`,
  )
  const child = execa('docker-registry', ['serve', config], { reject: false, stdin: 'ignore', all: true, buffer: false })
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    child.kill('SIGTERM')
    await child
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    const status = await fetch(`${url}/v2/`).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200 || status === 401) break
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`docker-registry did not start on ${url}:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url, authority: `127.0.0.1:${port}`, root, log: () => output, stop }
}

/**
 * Copies a fixture image (a ref name of fixtures/build/oci-layout such as `fixtures/single:1.0`; an index
 * with every platform) to `docker://<authority>/<target>` with skopeo, keeping its digests unless
 * `format` converts it (`v2s2`: a Docker schema2 manifest). `creds` is USER:PASS.
 */
export async function pushFixture(layout: string, ref: string, authority: string, target: string, options: { creds?: string; format?: 'v2s2' | 'oci' } = {}): Promise<void> {
  await execa('skopeo', [
    '--insecure-policy',
    'copy',
    '--quiet',
    '--retry-times',
    '0',
    '--all',
    ...(options.format === undefined ? ['--preserve-digests'] : ['--format', options.format]),
    '--dest-tls-verify=false',
    ...(options.creds === undefined ? [] : ['--dest-creds', options.creds]),
    `oci:${layout}:${ref}`,
    `docker://${authority}/${target}`,
  ])
}
