import assert from 'node:assert/strict'
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execa } from 'execa'
import { makeCertificates } from '../helpers/certificates.js'
import { loadFixtures, tempDir } from '../helpers/paths.js'
import { startZregServe } from '../helpers/servers.js'
import { sharedSite } from '../helpers/shared-site.js'
import { skopeoPull } from '../helpers/skopeo.js'

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
