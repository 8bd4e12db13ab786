import semver from 'semver'
import { parseSemverConstraint, parseTagVersion, type SemverConstraint } from './semver-constraint.js'

export { parseSemverConstraint, parseTagVersion, type SemverConstraint } from './semver-constraint.js'

/**
 * The tags `pattern` matches anywhere in them (unanchored, as Go's MatchString in skopeo sync's
 * `images-by-tag-regex`: `^1\.2` also matches `1.20`; anchor both ends to match whole tags). Keeps the
 * order of `tags`. A `g` or `y` flag on the pattern is ignored (they make RegExp.test stateful).
 */
export function tagsMatching(tags: readonly string[], pattern: RegExp): string[] {
  const stateless = pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern
  return tags.filter((tag) => stateless.test(tag))
}

/**
 * The tags that are versions (see parseTagVersion: `v1.2`, `3.12`) satisfying `constraint`, a
 * Masterminds/semver constraint as skopeo sync's `images-by-semver` takes (see SemverConstraint).
 * Tags that are not versions are skipped. Keeps the order of `tags`; throws SYNC_FILE_INVALID for a
 * constraint that does not parse.
 */
export function tagsInSemverRange(tags: readonly string[], constraint: string | SemverConstraint): string[] {
  const parsed = typeof constraint === 'string' ? parseSemverConstraint(constraint) : constraint
  return tags.filter((tag) => {
    const version = parseTagVersion(tag)
    return version !== undefined && parsed.matches(version)
  })
}

/** Compares runs of digits as numbers and the rest as text: build-9 before build-10. */
function compareNatural(a: string, b: string): number {
  const partsA = a.match(/\d+|\D+/g) ?? []
  const partsB = b.match(/\d+|\D+/g) ?? []
  for (let i = 0; i < Math.min(partsA.length, partsB.length); i++) {
    const x = partsA[i]!
    const y = partsB[i]!
    const digitsX = /^\d/.test(x)
    const digitsY = /^\d/.test(y)
    if (digitsX !== digitsY) return digitsX ? -1 : 1
    if (digitsX) {
      const valueX = x.replace(/^0+(?=\d)/, '')
      const valueY = y.replace(/^0+(?=\d)/, '')
      if (valueX.length !== valueY.length) return valueX.length - valueY.length
      if (valueX !== valueY) return valueX < valueY ? -1 : 1
    } else if (x !== y) return x < y ? -1 : 1
  }
  if (partsA.length !== partsB.length) return partsA.length - partsB.length
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Orders tags oldest first, by name alone: the registry API gives no push dates without fetching each
 * image's config. Tags that are versions (parseTagVersion) come after all others, in semver precedence
 * (1.9 before 1.10, a pre-release before its release: 1.2.0-rc1 and 1.2-alpine before 1.2); other tags
 * (latest, edge, nightly-9, nightly-10) in numeric-aware text order. Ties (1.2 and v1.2.0) are broken by
 * the text, so the order is total and the same on every run.
 */
export function compareTagAge(a: string, b: string): number {
  return compareParsed({ tag: a, version: parseTagVersion(a) }, { tag: b, version: parseTagVersion(b) })
}

interface ParsedTag {
  tag: string
  version: semver.SemVer | undefined
}

function compareParsed(a: ParsedTag, b: ParsedTag): number {
  if ((a.version === undefined) !== (b.version === undefined)) return a.version === undefined ? -1 : 1
  const byVersion = a.version && b.version ? semver.compare(a.version, b.version) : 0
  return byVersion !== 0 ? byVersion : compareNatural(a.tag, b.tag)
}

/**
 * The `n` newest of `tags` in the order compareTagAge gives, newest first: for `keep-last`. A moving tag
 * such as `latest` counts as older than every version, so it is kept only when fewer than `n` versions
 * are there; list it in `images` to mirror it always. Duplicate tags count once.
 */
export function newestTags(tags: readonly string[], n: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`newestTags: n must be a whole number >= 0, not ${n}`)
  // Each tag parsed once, not once per comparison.
  const parsed = [...new Set(tags)].map((tag) => ({ tag, version: parseTagVersion(tag) }))
  return parsed.sort((a, b) => compareParsed(b, a)).slice(0, n).map(({ tag }) => tag)
}
