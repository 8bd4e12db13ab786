import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isCertificateError, isNotTls, transportError } from '../../src/remote/transport-error.js'

const errno = (code: string, message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...fields })

test('transport failures as what a user acts on: certificates and handshakes TLS_FAILED, DNS HOST_UNKNOWN, the rest through systemError', () => {
  const url = 'https://r.example:5000/v2/'
  const cases: [Error, string, RegExp][] = [
    [errno('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'TLS_FAILED', /^cannot connect to the registry r\.example:5000 over TLS \(https:\/\/r\.example:5000\/v2\/\): its certificate is not accepted \(self-signed certificate\)$/],
    [errno('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), 'TLS_FAILED', /its certificate is not accepted/],
    [errno('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'TLS_FAILED', /altnames/],
    [errno('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required'), 'TLS_FAILED', /wants a client certificate: put NAME\.cert and NAME\.key in the --cert-dir/],
    [errno('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), 'TLS_FAILED', /the TLS handshake failed \(wrong version number\); if it serves plain http, pass --tls-verify=false$/],
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND r.example', { syscall: 'getaddrinfo', hostname: 'r.example' }), 'HOST_UNKNOWN', /^cannot resolve the host name r\.example \(the registry r\.example:5000, https:\/\/r\.example:5000\/v2\/\)$/],
    [new Error('fetch failed', { cause: errno('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:5000', { syscall: 'connect', address: '10.0.0.1', port: 5000 }) }), 'CONNECTION_FAILED', /^nothing listens at r\.example:5000: the connection was refused \(the registry r\.example:5000, https:\/\/r\.example:5000\/v2\/\); check the host and port$/],
    [errno('ECONNRESET', 'read ECONNRESET', { syscall: 'read' }), 'CONNECTION_FAILED', /^cannot read: /],
  ]
  for (const [error, code, message] of cases) {
    const mapped = transportError(error, 'r.example:5000', url)
    assert.equal(mapped?.code, code, error.message)
    assert.match(mapped!.message, message)
  }
  assert.equal(transportError(new Error('plain'), 'r', url), undefined)
  assert.ok(isCertificateError(transportError(cases[0]![0], 'r', url)), 'the mapped error keeps its cause')
  assert.ok(!isCertificateError(errno('ERR_SSL_WRONG_VERSION_NUMBER', 'x')), 'a handshake with a plain-http server is not a certificate problem (http may follow)')
})

test('only a peer that does not speak TLS, or no peer, lets a loopback registry fall back to plain http', () => {
  for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO', 'ECONNREFUSED']) assert.ok(isNotTls(new Error('x', { cause: errno(code, code) })), code)
  for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ENOTFOUND']) assert.ok(!isNotTls(errno(code, code)), code)
})
