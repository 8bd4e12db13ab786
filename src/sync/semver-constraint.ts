import semver from 'semver'
import { ZregError } from '../errors.js'

/**
 * skopeo sync's `images-by-semver` constraints, read as Masterminds/semver v3 (the Go library skopeo uses)
 * reads them and checked with the `semver` package.
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
const looseVersion = `v?${part}(?:\\.${part})?(?:\\.${part})?(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?`
const comparisonPattern = new RegExp(`^(!=|>=|=>|<=|=<|~>|>|<|=|~|\\^)?\\s*(${looseVersion})`)
const hyphenPattern = new RegExp(`(${looseVersion})\\s+-\\s+(${looseVersion})`, 'g')
const operators: Record<string, string> = { '': '', '=': '', '!=': '', '>': '>', '<': '<', '>=': '>=', '=>': '>=', '<=': '<=', '=<': '<=', '~': '~', '~>': '~', '^': '^' }

interface Comparison {
  range: semver.Range
  negated: boolean
  /** Whether a pre-release version may satisfy it (Masterminds: only when the comparison names one). */
  admitsPrerelease: boolean
}

/** `near`: the part that does not parse; empty for an empty alternative of ||. */
function invalid(text: string, near: string): ZregError {
  const where = near === '' ? ' (a side of || is empty)' : near === text.trim() ? '' : ` (at ${JSON.stringify(near)})`
  return new ZregError('SYNC_FILE_INVALID', `${JSON.stringify(text)} is not a semver constraint${where}: write comparisons such as ">= 3.12.0", "~1.2", "^1", ">=1.2, <3.0" or "1.2 || 2.x"`)
}

function parseComparison(operator: string, version: string): Comparison {
  const bare = version.replace(/^v/, '')
  const [numbers = ''] = bare.split(/[-+]/, 1)
  const wildcard = numbers.split('.').length < 3 || /[xX*]/.test(numbers)
  const hasPrerelease = /^[^+]*-/.test(bare)
  // Masterminds reads ~0.0.0 as "any version"; the semver package as >=0.0.0 <0.1.0.
  const text = (operator === '~' || operator === '~>') && /^0\.0\.0$/.test(bare) ? '*' : `${operators[operator]}${bare}`
  return {
    range: new semver.Range(text, { includePrerelease: true }),
    negated: operator === '!=',
    admitsPrerelease: hasPrerelease || (operator === '!=' && !wildcard),
  }
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
    matches(version) {
      const prerelease = version.prerelease.length > 0
      return groups.some((group) =>
        group.every((comparison) => {
          if (prerelease && !comparison.admitsPrerelease) return false
          const inside = comparison.range.test(version)
          return comparison.negated ? !inside : inside
        }),
      )
    },
  }
}
