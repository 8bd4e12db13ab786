import assert from 'node:assert/strict'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { loadFixtures, tempDir } from '../helpers/paths.js'
import { startZregServe } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'
import { skopeoPull } from '../helpers/skopeo.js'

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = (args: string[]) => execa('openssl', args, { cwd: dir })
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=zreg test CA', '-keyout', 'ca.key', '-out', 'ca.crt'])
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt'])
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }
}

test('zreg serve over HTTPS: skopeo pulls while trusting the test CA, and refuses without it', async () => {
  const dir = await tempDir('tls')
  const certs = await makeCertificates(dir)
  const certDir = join(dir, 'certs.d')
  await mkdir(certDir)
  await copyFile(certs.ca, join(certDir, 'ca.crt'))
  const { site } = await sharedSite()
  const single = (await loadFixtures()).images.find((image) => image.id === 'oci/single')!
  const server = await startZregServe(site, ['--tls-cert', certs.cert, '--tls-key', certs.key])
  try {
    assert.match(server.url, /^https:/)
    const digest = await skopeoPull(`docker://${server.authority}/fixtures/single:1.0`, join(dir, 'pulled'), { tlsArgs: ['--src-cert-dir', certDir] })
    assert.equal(digest, single.digest)
    const untrusted = await execa('skopeo', ['inspect', '--retry-times', '0', `docker://${server.authority}/fixtures/single:1.0`], { reject: false })
    assert.notEqual(untrusted.exitCode, 0)
    assert.match(untrusted.stderr, /certificate/)
  } finally {
    await server.stop()
  }
})
