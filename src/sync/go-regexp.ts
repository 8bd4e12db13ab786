/**
 * Go's regular expressions (RE2 syntax, what skopeo sync's `images-by-tag-regex` uses) as JavaScript
 * RegExps. The two agree on the common syntax; this translates what differs and refuses what JavaScript
 * would read differently instead of guessing, so a pattern selects the same tags in zreg as in skopeo.
 *
 * Translated: leading flag groups `(?i)` `(?s)` `(?m)` (to the RegExp's flags), `\A` and `\z` (to `^`, `$`),
 * `(?P<name>` (to `(?<name>`), POSIX classes such as `[[:digit:]]` (to ranges), `\Q...\E` (to escaped text).
 * Refused with the reason: flags anywhere but the start, `(?U)`, lookaround and backreferences (RE2 has
 * none, so skopeo fails on them), `\p{...}`, `\x{...}`, `\C` and other escapes JavaScript would take literally.
 */

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-/:-@[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

// Escapes JavaScript (without the u flag) reads as RE2 does; other letters and digits are refused.
const sameEscapes = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'n', 'r', 't', 'f', 'v', '0'])

/** A Go pattern JavaScript cannot read the same way: `reason` says what and why. */
export class GoRegexpError extends Error {
  constructor(readonly pattern: string, readonly reason: string) {
    super(`invalid regular expression ${JSON.stringify(pattern)}: ${reason}`)
    this.name = 'GoRegexpError'
  }
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}

/**
 * Compiles `pattern`, written in Go's RE2 syntax, to a RegExp that matches the same strings (unanchored,
 * like Go's MatchString: anchor with ^ and $ to match whole tags). Throws GoRegexpError naming the pattern.
 */
export function compileGoRegexp(pattern: string): RegExp {
  let flags = ''
  let rest = pattern
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(rest)
  if (leading) {
    for (const flag of leading[1]!) {
      if (flag === 'U') throw new GoRegexpError(pattern, '(?U), ungreedy by default, has no JavaScript equivalent: write lazy quantifiers such as .*? instead')
      if (!'ism'.includes(flag)) throw new GoRegexpError(pattern, `(?${flag}) is not a flag: Go knows i, m, s and U`)
      if (!flags.includes(flag)) flags += flag
    }
    rest = rest.slice(leading[0].length)
  }
  let out = ''
  let inClass = false
  for (let i = 0; i < rest.length; i++) {
    const char = rest[i]!
    if (char === '\\') {
      const next = rest[i + 1]
      if (next === undefined) throw new GoRegexpError(pattern, 'it ends with a lone backslash')
      if (next === 'Q') {
        const end = rest.indexOf('\\E', i + 2)
        const literal = rest.slice(i + 2, end < 0 ? undefined : end)
        out += inClass ? literal.replace(/[\\\]^-]/g, '\\$&') : escapeLiteral(literal)
        i = end < 0 ? rest.length : end + 1
        continue
      }
      if (!inClass && next === 'A') out += '^'
      else if (!inClass && next === 'z') out += '$'
      else if (next === 'x' && /^[0-9A-Fa-f]{2}$/.test(rest.slice(i + 2, i + 4))) {
        out += rest.slice(i, i + 4)
        i += 2
      } else if (/[A-Za-z]/.test(next) && !sameEscapes.has(next)) {
        throw new GoRegexpError(pattern, `\\${next}${next === 'p' || next === 'P' ? '{...} (Unicode classes)' : next === 'x' ? '{...}' : ''} is not supported here: tags are ASCII, write the characters or a [...] class`)
      } else if (/[1-9]/.test(next)) {
        throw new GoRegexpError(pattern, `\\${next} is a backreference, which Go's RE2 syntax (skopeo) does not have`)
      } else out += `\\${next}`
      i++
      continue
    }
    if (inClass) {
      if (char === '[' && rest[i + 1] === ':') {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest.slice(i))
        const ranges = posix ? posixClasses[posix[2]!] : undefined
        if (posix && ranges === undefined) throw new GoRegexpError(pattern, `[:${posix[2]}:] is not a POSIX class: use one of ${Object.keys(posixClasses).join(', ')}`)
        if (posix && ranges !== undefined) {
          if (posix[1]) throw new GoRegexpError(pattern, `[:^${posix[2]}:] (a negated POSIX class inside [...]) is not supported here: write [^[:${posix[2]}:]] as its own class`)
          out += ranges
          i += posix[0].length - 1
          continue
        }
        out += '\\['
        continue
      }
      if (char === '[') {
        out += '\\['
        continue
      }
      if (char === ']') inClass = false
      out += char
      continue
    }
    if (char === '[') {
      inClass = true
      out += char
      // A ] right after [ or [^ is a literal in RE2, and an empty class in JavaScript.
      const negated = rest[i + 1] === '^'
      if (negated) {
        out += '^'
        i++
      }
      if (rest[i + 1] === ']') {
        out += '\\]'
        i++
      }
      continue
    }
    if (char === '(' && rest[i + 1] === '?') {
      const group = rest.slice(i + 2)
      if (group.startsWith(':')) {
        out += '(?:'
        i += 2
        continue
      }
      const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(group)
      if (named) {
        out += `(?<${named[1]}>`
        i += 1 + named[0].length
        continue
      }
      if (/^(=|!|<=|<!)/.test(group)) throw new GoRegexpError(pattern, "lookahead and lookbehind are not in Go's RE2 syntax (skopeo refuses them); match the tags you want directly")
      throw new GoRegexpError(pattern, "flags such as (?i) are supported only at the very start of the pattern (JavaScript cannot turn them on part-way)")
    }
    out += char
  }
  try {
    return new RegExp(out, flags)
  } catch (error) {
    throw new GoRegexpError(pattern, (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, ''))
  }
}
