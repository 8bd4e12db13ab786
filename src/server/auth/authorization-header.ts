/**
 * What an `Authorization` header carries after `scheme` (`Basic`, `Bearer`), or undefined when it names
 * another scheme. Scheme names are case-insensitive (RFC 9110 section 11.1), as nginx, Caddy and Apache
 * read them.
 */
export function authorizationParameter(header: string, scheme: 'Basic' | 'Bearer'): string | undefined {
  const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s.exec(header)
  return match !== null && match[1]!.toLowerCase() === scheme.toLowerCase() ? (match[2] ?? '').trim() : undefined
}

/** The user and password of an `Authorization: Basic ...` header (RFC 7617); undefined for another scheme or no colon. */
export function basicCredentials(header: string): { user: string; password: string } | undefined {
  const parameter = authorizationParameter(header, 'Basic')
  if (parameter === undefined) return undefined
  const decoded = Buffer.from(parameter, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
