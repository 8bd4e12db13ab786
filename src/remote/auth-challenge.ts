/** One challenge of a `WWW-Authenticate` header (RFC 7235 section 4.1). */
export interface AuthChallenge {
  /** The scheme in lowercase: 'basic', 'bearer', ... */
  scheme: string
  /** Parameter names in lowercase; values unquoted. */
  params: Record<string, string>
  token68?: string
}

const tokenChars = /[!#$%&'*+.^_`|~0-9A-Za-z-]/
const token68Chars = /[A-Za-z0-9\-._~+/]/

/**
 * Parses `WWW-Authenticate` (one header, or several joined): several challenges, each a scheme then a
 * token68 or comma-separated `name=value` parameters whose values are tokens or quoted strings (with `\`
 * escapes, and commas inside quotes). Tolerant as browsers are: what cannot be parsed is skipped.
 */
export function parseChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return []
  const text = Array.isArray(header) ? header.join(', ') : header
  const challenges: AuthChallenge[] = []
  let pos = 0
  const skip = (chars: RegExp) => {
    while (pos < text.length && chars.test(text[pos]!)) pos++
  }
  const readToken = (chars: RegExp = tokenChars): string => {
    const start = pos
    while (pos < text.length && chars.test(text[pos]!)) pos++
    return text.slice(start, pos)
  }
  const readQuoted = (): string => {
    let value = ''
    pos++ // the opening quote
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === '\\' && pos + 1 < text.length) pos++
      value += text[pos]
      pos++
    }
    pos++ // the closing quote
    return value
  }
  /** A `name=value` at pos, or undefined (pos unchanged) when what follows is not one. */
  const readParam = (): [string, string] | undefined => {
    const start = pos
    const name = readToken()
    skip(/[ \t]/)
    if (name === '' || text[pos] !== '=') {
      pos = start
      return undefined
    }
    pos++
    skip(/[ \t]/)
    if (text[pos] === '"') return [name.toLowerCase(), readQuoted()]
    // Unquoted values should be tokens; registries send URLs unquoted too (`realm=https://...`).
    const value = readToken(/[^\s,"=]/)
    if (value === '') {
      // `abc==`: a token68's padding, not a parameter.
      pos = start
      return undefined
    }
    return [name.toLowerCase(), value]
  }
  while (pos < text.length) {
    skip(/[\s,]/)
    const scheme = readToken()
    if (scheme === '') {
      pos++ // a stray character: skip it
      continue
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} }
    challenges.push(challenge)
    skip(/[ \t]/)
    const first = readParam()
    if (first === undefined) {
      // A token68 (`Negotiate abc==`) or nothing before the next challenge.
      const start = pos
      const token68 = readToken(token68Chars)
      skip(/=/)
      if (token68 !== '' && (pos >= text.length || /[\s,]/.test(text[pos]!))) challenge.token68 = text.slice(start, pos)
      else pos = start
      continue
    }
    challenge.params[first[0]] = first[1]
    for (;;) {
      const save = pos
      skip(/[ \t]/)
      if (text[pos] !== ',') {
        pos = save
        break
      }
      skip(/[\s,]/)
      const param = readParam()
      if (param === undefined) break // the next challenge's scheme
      challenge.params[param[0]] = param[1]
    }
  }
  return challenges
}
