import { systemError, ZregError } from '../errors.js'

/** OpenSSL's and Node's codes for a certificate the client does not accept. */
const certificateCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function errorChain(error: unknown): Error[] {
  const chain: Error[] = []
  for (let current = error; current instanceof Error && chain.length < 8; current = current.cause) chain.push(current)
  return chain
}

function codeOf(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code
  return typeof code === 'string' ? code : undefined
}

/**
 * The https ping failed in a way that says nothing speaks TLS there: the peer answered something that is
 * not TLS (a plain-http server: ERR_SSL_WRONG_VERSION_NUMBER), or nothing listens. Only then may a
 * loopback or --tls-verify=false registry be tried over plain http.
 */
export function isNotTls(error: unknown): boolean {
  return errorChain(error).some((e) => /^(ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_HTTP_REQUEST|ERR_SSL_UNKNOWN_PROTOCOL|EPROTO|ECONNREFUSED)$/.test(codeOf(e) ?? ''))
}

/** Nothing listens at the address (ECONNREFUSED): on a first contact, a wrong host or port more likely than a hiccup. */
export function isConnectionRefused(error: unknown): boolean {
  return errorChain(error).some((e) => codeOf(e) === 'ECONNREFUSED')
}

/** A TLS failure the user fixes with a CA, a client certificate or --tls-verify=false (not a dropped connection). */
export function isCertificateError(error: unknown): boolean {
  return errorChain(error).some((e) => {
    const code = codeOf(e)
    return (code !== undefined && certificateCodes.has(code)) || /ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA/.test(code ?? '')
  })
}

/**
 * A transport failure talking to `registry` as the table entry a user can act on: TLS_FAILED for
 * certificates, HOST_UNKNOWN for DNS, CONNECTION_FAILED and the like through systemError(); undefined
 * for anything else (the caller keeps its own error).
 */
export function transportError(error: unknown, registry: string, url: string): ZregError | undefined {
  if (error instanceof ZregError) return error
  const chain = errorChain(error)
  if (isCertificateError(error)) {
    const cause = chain.find((e) => codeOf(e) !== undefined) ?? chain[0]
    const code = cause ? codeOf(cause) ?? '' : ''
    const why = /ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE/.test(code)
      ? 'the registry wants a client certificate: put NAME.cert and NAME.key in the --cert-dir'
      : `its certificate is not accepted (${cause?.message ?? code})`
    return new ZregError('TLS_FAILED', `cannot connect to the registry ${registry} over TLS (${url}): ${why}`, { cause: error })
  }
  const handshake = chain.find((e) => /^ERR_SSL_|^EPROTO$/.test(codeOf(e) ?? ''))
  if (handshake !== undefined) {
    return new ZregError('TLS_FAILED', `cannot connect to the registry ${registry} over TLS (${url}): the TLS handshake failed (${handshake.message.split('\n')[0]}); if it serves plain http, pass --tls-verify=false`, { cause: error })
  }
  if (isConnectionRefused(error)) {
    return new ZregError('CONNECTION_FAILED', `nothing listens at ${new URL(url).host}: the connection was refused (the registry ${registry}, ${url}); check the host and port`, { cause: error })
  }
  for (const e of chain) {
    const mapped = systemError(e)
    if (mapped) return new ZregError(mapped.code, `${mapped.message} (the registry ${registry}, ${url})`, { cause: error })
  }
  return undefined
}

/** What went wrong, short, for retry reasons and REMOTE_UNAVAILABLE messages. */
export function describeFailure(error: unknown): string {
  const chain = errorChain(error)
  const first = chain[0]
  if (first === undefined) return String(error)
  const code = chain.map(codeOf).find((c) => c !== undefined)
  return code !== undefined && !first.message.includes(code) ? `${first.message} (${code})` : first.message
}
