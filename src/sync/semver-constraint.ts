import semver from 'semver'
import { ZregError } from '../errors.js'

/**
 * skopeo sync's `images-by-semver` constraints, read and checked as Masterminds/semver v3 (the Go library
 * skopeo uses) does: its comparison rules are ported from its constraints.go, with versions and their
 * precedence from the `semver` package. The semver package's own ranges differ in places (they cannot
 * express `!=`, partial versions with a pre-release such as `~1.1-alpha`, or Masterminds' pre-release rule).
 *
 * Tags are versions as Masterminds' NewVersion takes them: an optional leading `v`, one to three numbers
 * (`3.12` is 3.12.0, `v1` is 1.0.0), then an optional `-prerelease`; other tags are not versions.
 * Constraints: comparisons joined by `,` or spaces (AND) and `||` (OR), with the operators `=` `!=` `>`
 * `<` `>=` `=>` `<=` `=<` `~` `~>` `^`, partial versions and wildcards (`1.2`, `2.x`, `*`) and hyphen ranges
 * (`1.2 - 1.4.5`). As in Masterminds, a pre-release tag satisfies an AND group only when each of its
 * comparisons names a pre-release itself (`>= 1.2.0-0`), so `>= 3.12.0` never selects `3.13.0-rc1`.
 */
export interface SemverConstraint {
  /** The constraint as written. */
  readonly source: string
  /** True when the version satisfies the constraint. */
  matches(version: semver.SemVer): boolean
}

const versionPattern = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/

/** The tag as a semantic version (`v1.2` is 1.2.0), or undefined when it is not one. */
export function parseTagVersion(tag: string): semver.SemVer | undefined {
  const match = versionPattern.exec(tag)
  if (!match) return undefined
  const [, major, minor = '0', patch = '0', prerelease, build] = match
  // Masterminds takes leading zeros in the numbers (01.2) but not in numeric pre-release parts (1.0.0-01).
  if (prerelease?.split('.').some((part) => /^0\d+$/.test(part))) return undefined
  const text = `${BigInt(major!)}.${BigInt(minor)}.${BigInt(patch)}${prerelease ? `-${prerelease}` : ''}${build ? `+${build}` : ''}`
  try {
    return new semver.SemVer(text)
  } catch {
    return undefined // a number past 2^53, which no real tag has
  }
}

// One comparison as Masterminds' constraint grammar has it: operator, then a version with x/X/* wildcards.
const part = '(?:\\d+|[xX*])'
const prereleasePart = '-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*'
const looseVersion = `v?${part}(?:\\.${part})?(?:\\.${part})?(?:${prereleasePart})?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?`
const comparisonPattern = new RegExp(`^(!=|>=|=>|<=|=<|~>|>|<|=|~|\\^)?\\s*(${looseVersion})`)
const hyphenPattern = new RegExp(`(${looseVersion})\\s+-\\s+(${looseVersion})`, 'g')
const versionParts = new RegExp(`^v?(${part})(?:\\.(${part}))?(?:\\.(${part}))?(${prereleasePart})?`)

/**
 * One comparison, as Masterminds keeps it: the version with its missing or wildcard parts as 0, and
 * which parts were missing ("dirty"), which the operators read as ranges (>1.2 is past every 1.2.x).
 */
interface Comparison {
  operator: string
  version: semver.SemVer
  dirty: boolean
  minorDirty: boolean
  patchDirty: boolean
}

const isWildcard = (part: string | undefined): boolean => part === undefined || part === 'x' || part === 'X' || part === '*'

function parseComparison(operator: string, text: string): Comparison {
  const [, major = '0', minor, patch, prerelease = ''] = versionParts.exec(text) ?? []
  const number = (digits: string | undefined): string => (isWildcard(digits) ? '0' : String(BigInt(digits!)))
  const majorDirty = isWildcard(major)
  const minorDirty = !majorDirty && isWildcard(minor)
  const patchDirty = !majorDirty && !minorDirty && isWildcard(patch)
  const version = new semver.SemVer(`${majorDirty ? '0' : number(major)}.${number(majorDirty ? undefined : minor)}.${number(majorDirty || minorDirty ? undefined : patch)}${prerelease}`)
  return { operator: operator.replace(/^=>$/, '>=').replace(/^=<$/, '<=').replace(/^~>$/, '~').replace(/^=$/, ''), version, dirty: majorDirty || minorDirty || patchDirty, minorDirty, patchDirty }
}

/** Masterminds' check of one comparison (constraints.go), with the semver package's precedence. */
function satisfies(v: semver.SemVer, c: Comparison): boolean {
  const con = c.version
  const compare = semver.compare(v, con)
  // A pre-release is considered only by comparisons that name one (Masterminds issue 21), except an exact !=.
  if (v.prerelease.length > 0 && con.prerelease.length === 0 && !(c.operator === '!=' && !c.dirty)) return false
  switch (c.operator) {
    case '!=':
      if (c.dirty) {
        if (con.major !== v.major) return true
        if (con.minor !== v.minor && !c.minorDirty) return true
        if (c.minorDirty) return false
        if (con.patch !== v.patch && !c.patchDirty) return true
        // Masterminds compares only the pre-releases here (!=4.1-alpha excludes 4.1.7-alpha too).
        if (c.patchDirty) return v.prerelease.join('.') !== con.prerelease.join('.')
      }
      return compare !== 0
    case '>':
      if (!c.dirty || v.major !== con.major) return c.dirty ? v.major > con.major : compare > 0
      if (c.minorDirty) return false
      if (c.patchDirty) return v.minor > con.minor
      return compare > 0
    case '<':
      return compare < 0
    case '>=':
      return compare >= 0
    case '<=':
      if (!c.dirty) return compare <= 0
      if (v.major > con.major) return false
      return !(v.major === con.major && v.minor > con.minor && !c.minorDirty)
    case '':
      if (!c.dirty) return compare === 0
      return tilde(v, c, compare)
    case '~':
      return tilde(v, c, compare)
    case '^':
      if (compare < 0) return false
      if (con.major > 0 || c.minorDirty) return v.major === con.major
      if (v.major > 0) return false
      if (con.minor > 0 || c.patchDirty) return v.minor === con.minor
      if (v.minor > 0) return false
      return v.patch === con.patch
    default:
      return false
  }
}

function tilde(v: semver.SemVer, c: Comparison, compare: number): boolean {
  const con = c.version
  if (compare < 0) return false
  // ~0.0.0 (and ~*) is any version.
  if (con.major === 0 && con.minor === 0 && con.patch === 0 && !c.minorDirty && !c.patchDirty) return true
  if (v.major !== con.major) return false
  return v.minor === con.minor || c.minorDirty
}

/** `near`: the part that does not parse; empty for an empty alternative of ||. */
function invalid(text: string, near: string): ZregError {
  const where = near === '' ? ' (a side of || is empty)' : near === text.trim() ? '' : ` (at ${JSON.stringify(near)})`
  return new ZregError('SYNC_FILE_INVALID', `${JSON.stringify(text)} is not a semver constraint${where}: write comparisons such as ">= 3.12.0", "~1.2", "^1", ">=1.2, <3.0" or "1.2 || 2.x"`)
}

/**
 * Parses a Masterminds/semver constraint (see SemverConstraint). Throws SYNC_FILE_INVALID naming the
 * constraint and the part that does not parse.
 */
export function parseSemverConstraint(text: string): SemverConstraint {
  const groups: Comparison[][] = []
  for (const group of text.replace(hyphenPattern, '>= $1, <= $2').split('||')) {
    const comparisons: Comparison[] = []
    let rest = group.trim()
    if (rest === '') throw invalid(text, '')
    while (rest !== '') {
      const match = comparisonPattern.exec(rest)
      if (!match) throw invalid(text, rest)
      try {
        comparisons.push(parseComparison(match[1] ?? '', match[2]!))
      } catch {
        throw invalid(text, match[0])
      }
      rest = rest.slice(match[0].length)
      const separator = /^(?:\s*,\s*|\s+)/.exec(rest)
      if (rest !== '' && !separator) throw invalid(text, rest)
      rest = rest.slice(separator?.[0].length ?? 0)
      if (separator && rest === '') throw invalid(text, separator[0].trim() || group.trim())
    }
    groups.push(comparisons)
  }
  return {
    source: text,
    matches: (version) => groups.some((group) => group.every((comparison) => satisfies(version, comparison))),
  }
}
