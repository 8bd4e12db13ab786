import { ZregError } from '../errors.js'
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.js'

/** The statuses a blob redirect may answer with (307 by default, as the reference registry redirects to storage). */
export const redirectStatuses = [301, 302, 307, 308] as const
export type RedirectStatus = (typeof redirectStatuses)[number]

/** How one of several mirrors is chosen for a blob. */
export type MirrorChoice = 'hash' | 'first'

/**
 * One rule of `redirects:` in the config file (or `--redirect PATTERN=URL[,URL...]`): which blobs are
 * answered with a redirect instead of being held in the tree, and where to.
 */
export interface RedirectRule {
  /** A glob over repository names: `*` any characters but `/`, `**` any characters, `?` one character but `/` (default `**`). */
  repository?: string
  /** Blob media types (as the manifest's descriptor names them; `*` matches any characters); absent: any. */
  mediaTypes?: string[]
  /** Bytes: smaller blobs stay in the tree (default 0). */
  minSize?: number
  /**
   * URL templates, one per mirror: absolute http(s) URLs in which `{algorithm}`, `{hex}`, `{digest}` and
   * `{repository}` stand for the blob's. An OCI layout's `blobs/` directory served as it is answers
   * `BASE/{algorithm}/{hex}`.
   */
  to: string | string[]
  /** With several mirrors: `hash` (default) picks one by the digest, so each blob always goes to the same mirror and caches stay warm; `first` sends all to the first. */
  choose?: MirrorChoice
  /** 307 (default), 302, 301 or 308. */
  status?: RedirectStatus
}

/** Where a blob is answered from instead of the tree. */
export interface BlobRedirect {
  status: RedirectStatus
  location: string
}

/** What a rule looks at of a blob. */
export interface RedirectCandidate {
  digest: Digest
  size: number
  /** The media type a manifest's descriptor gives it (a layer's, a config's). */
  mediaType: string
}

/** A rule set, compiled once: `redirectOf` answers for each blob of each repository. */
export interface RedirectRules {
  /** The rules as given, normalized: part of a build's inputs (a change rebuilds every repository). */
  readonly rules: readonly object[]
  /** The redirect of the first rule that matches the blob, or undefined (the tree holds it). */
  redirectOf(repository: string, blob: RedirectCandidate): BlobRedirect | undefined
}

const placeholders = ['algorithm', 'hex', 'digest', 'repository'] as const

/**
 * What a template's fixed parts may hold: what every host kind's syntax takes as it is in a quoted value
 * or a rewrite target (no `$`, `{`, `}`, `|`, quotes, `\`, `;`, `#`, spaces or brackets).
 */
const safeUrl = /^https?:\/\/[A-Za-z0-9\-._~:/?@!&+,=%]+$/

function invalid(where: string, message: string): ZregError {
  return new ZregError('REDIRECT_INVALID', `${where}: ${message}`)
}

function globSource(glob: string, star: string): string {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*'
      i++
    } else if (c === '*') source += star
    else if (c === '?') source += star === '.*' ? '.' : '[^/]'
    else source += c.replace(/[.+^$|()[\]{}\\]/g, (x) => `\\${x}`)
  }
  return `^${source}$`
}

function checkTemplate(template: string, where: string): string {
  const fixed = template.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    if (!(placeholders as readonly string[]).includes(name)) throw invalid(where, `${whole} is no placeholder; use ${placeholders.map((p) => `{${p}}`).join(', ')}`)
    return 'x'
  })
  if (!safeUrl.test(fixed)) {
    throw invalid(where, `${JSON.stringify(template)} is not an absolute http(s) URL of the characters every host kind takes as they are (letters, digits, - . _ ~ : / ? @ ! & + , = and %XX)`)
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(fixed)) throw invalid(where, `${JSON.stringify(template)} has a "%" that starts no %XX escape`)
  const url = new URL(fixed)
  // A URL with credentials would put them in every generated configuration and every redirect answer.
  if (url.username !== '' || url.password !== '') throw invalid(where, `${JSON.stringify(template)} holds credentials; a redirect target must be readable without them`)
  if (!template.includes('{hex}') && !template.includes('{digest}')) throw invalid(where, `${JSON.stringify(template)} names no blob: it needs {hex} or {digest}`)
  return template
}

function expand(template: string, repository: string, digest: Digest): string {
  return template.replace(/\{([a-z]+)\}/g, (_, name: string) => (name === 'algorithm' ? digestAlgorithm(digest) : name === 'hex' ? digestHex(digest) : name === 'digest' ? digest : repository))
}

/** Which mirror of `count` serves `digest`: the digest is uniformly random, so its first 32 bits spread blobs evenly. */
function mirrorIndex(digest: Digest, count: number): number {
  return Number.parseInt(digestHex(digest).slice(0, 8), 16) % count
}

/**
 * Checks and compiles redirect rules (the config file's `redirects:`, or `--redirect`); `where` names
 * their origin in errors. REDIRECT_INVALID for a bad glob, template, status or choice.
 */
export function compileRedirectRules(rules: readonly RedirectRule[], where: string): RedirectRules {
  const compiled = rules.map((rule, index) => {
    const at = `${where}[${index}]`
    const repository = rule.repository ?? '**'
    if (!/^[a-z0-9._/*?-]+$/.test(repository)) throw invalid(at, `repository ${JSON.stringify(repository)} is no glob over repository names (lowercase letters, digits, . _ - / and the wildcards * ** ?)`)
    const to = (typeof rule.to === 'string' ? [rule.to] : rule.to).map((template) => checkTemplate(template, at))
    if (to.length === 0) throw invalid(at, 'it names no URL template (to)')
    const status = rule.status ?? 307
    if (!(redirectStatuses as readonly number[]).includes(status)) throw invalid(at, `status ${status} is not one of ${redirectStatuses.join(', ')}`)
    const choose = rule.choose ?? 'hash'
    if (choose !== 'hash' && choose !== 'first') throw invalid(at, `choose ${JSON.stringify(choose)} is not hash or first`)
    const minSize = rule.minSize ?? 0
    if (!Number.isInteger(minSize) || minSize < 0) throw invalid(at, `minSize ${minSize} is not a whole number of bytes`)
    const mediaTypes = rule.mediaTypes?.map((type) => new RegExp(globSource(type, '.*')))
    return { normalized: { repository, to, status, choose, minSize, ...(rule.mediaTypes ? { mediaTypes: rule.mediaTypes } : {}) }, pattern: new RegExp(globSource(repository, '[^/]*')), mediaTypes }
  })
  return {
    rules: compiled.map((rule) => rule.normalized),
    redirectOf(repository, blob) {
      for (const rule of compiled) {
        if (blob.size < rule.normalized.minSize || !rule.pattern.test(repository)) continue
        if (rule.mediaTypes && !rule.mediaTypes.some((type) => type.test(blob.mediaType))) continue
        const { to, choose, status } = rule.normalized
        const template = to[choose === 'first' ? 0 : mirrorIndex(blob.digest, to.length)]!
        return { status, location: expand(template, repository, blob.digest) }
      }
      return undefined
    },
  }
}

/** `--redirect PATTERN=URL[,URL...]`: a rule for the repositories PATTERN matches, 307, mirrors chosen by digest. */
export function parseRedirectFlag(text: string): RedirectRule {
  const equals = text.indexOf('=')
  if (equals <= 0) throw invalid('--redirect', `${JSON.stringify(text)} is not PATTERN=URL_TEMPLATE (e.g. '**=https://cdn.example.com/blobs/{algorithm}/{hex}')`)
  return { repository: text.slice(0, equals), to: text.slice(equals + 1).split(',') }
}

export const noRedirects: RedirectRules = compileRedirectRules([], 'redirects')
