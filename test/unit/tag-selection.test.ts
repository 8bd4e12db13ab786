import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { compileGoRegexp, GoRegexpError } from '../../src/sync/go-regexp.js'
import { compareTagAge, newestTags, parseSemverConstraint, parseTagVersion, tagsInSemverRange, tagsMatching } from '../../src/sync/tag-selection.js'

// Tags as registries list them: versions with and without v, partial versions, pre-releases, variants, moving tags.
const tags = ['latest', 'edge', '3.11', '3.12', '3.12.0', 'v3.12.1', '3.12-alpine', '3.13.0-rc1', '3.13', '4.0.0', '1', 'v1', '1.2.3', '1.2.3-beta.1', '1.3.0', '2.0.0', '2.5', '0.2.3', '0.3.0', '1.02.3', '1.0.0-01', '1.2.3.4', '1.2.3_1', '20240101']

test('tag versions: a leading v and partial versions parse as Masterminds reads them; other tags are not versions', () => {
  const cases: [string, string | undefined][] = [
    ['3.12', '3.12.0'],
    ['v1', '1.0.0'],
    ['v3.12.1', '3.12.1'],
    ['1.02.3', '1.2.3'], // leading zeros in the numbers are taken
    ['3.12-alpine', '3.12.0-alpine'], // a variant suffix reads as a pre-release
    ['1.2.3-beta.1', '1.2.3-beta.1'],
    ['20240101', '20240101.0.0'],
    ['1.0.0-01', undefined], // but not in numeric pre-release parts
    ['1.2.3.4', undefined],
    ['1.2.3_1', undefined],
    ['latest', undefined],
    ['V1', undefined],
    ['99999999999999999999', undefined], // past 2^53: no real tag, not an exception
  ]
  for (const [tag, version] of cases) assert.equal(parseTagVersion(tag)?.version, version, tag)
})

test('images-by-semver: Masterminds constraints select the same tags as skopeo', () => {
  const cases: [string, string[]][] = [
    // skopeo-sync(1)'s example: releases from 3.12.0 on; the pre-releases 3.13.0-rc1 and 3.12-alpine are not
    ['>= 3.12.0', ['3.12', '3.12.0', 'v3.12.1', '3.13', '4.0.0', '20240101']],
    ['>=3.12, <4', ['3.12', '3.12.0', 'v3.12.1', '3.13']],
    ['>=3.12 <4', ['3.12', '3.12.0', 'v3.12.1', '3.13']], // spaces AND, too
    ['~1.2', ['1.2.3', '1.02.3']],
    ['~> 1.2', ['1.2.3', '1.02.3']],
    ['^1', ['1', 'v1', '1.2.3', '1.3.0', '1.02.3']],
    ['^0.2', ['0.2.3']],
    ['>=1.2, <3.0', ['1.2.3', '1.3.0', '2.0.0', '2.5', '1.02.3']],
    ['1.2 || 2.x', ['1.2.3', '2.0.0', '2.5', '1.02.3']],
    ['3.12', ['3.12', '3.12.0', 'v3.12.1']], // a partial version is a range
    ['=3.12.0', ['3.12', '3.12.0']],
    ['v3.12.1', ['v3.12.1']],
    ['>3.12', ['3.13', '4.0.0', '20240101']], // past every 3.12.x
    ['<=1.2', ['1', 'v1', '1.2.3', '0.2.3', '0.3.0', '1.02.3']], // up to every 1.2.x
    ['1.2 - 2', ['1.2.3', '1.3.0', '2.0.0', '2.5', '1.02.3']],
    ['!=3.12.0, >=3.12, <4', ['v3.12.1', '3.13']],
    ['!=3.x, >=3, <5', ['4.0.0']],
    ['=> 3.13, =< 4', ['3.13', '4.0.0']],
    ['~0.0.0', ['3.11', '3.12', '3.12.0', 'v3.12.1', '3.13', '4.0.0', '1', 'v1', '1.2.3', '1.3.0', '2.0.0', '2.5', '0.2.3', '0.3.0', '1.02.3', '20240101']],
    // pre-releases only when each comparison of the group names one
    ['>= 3.12.0-0', ['3.12', '3.12.0', 'v3.12.1', '3.12-alpine', '3.13.0-rc1', '3.13', '4.0.0', '20240101']],
    ['>= 3.12.0-0, < 4', ['3.12', '3.12.0', 'v3.12.1', '3.13']],
    ['>=1.2.3-0 <1.2.4-0', ['1.2.3', '1.2.3-beta.1', '1.02.3']],
    ['!=1.2.3', tags.filter((tag) => parseTagVersion(tag) !== undefined && !['1.2.3', '1.02.3'].includes(tag))],
  ]
  for (const [constraint, expected] of cases) assert.deepEqual(tagsInSemverRange(tags, constraint), expected.sort((a, b) => tags.indexOf(a) - tags.indexOf(b)), constraint)
  assert.deepEqual(tagsInSemverRange(tags, parseSemverConstraint('^4')), ['4.0.0'], 'a parsed constraint is taken too')
})

test("Masterminds' rules, comparison by comparison (partial versions are ranges, pre-releases only when named)", () => {
  const cases: [string, string, boolean][] = [
    ['=3.0', '3.0.7', true], // a partial version: every 3.0.x
    ['=3.0.0', '3.0.7', false],
    ['7', '7.9.1', true],
    ['7.2.x', '7.3.0', false],
    ['!=7.2', '7.2.5', false], // != a partial version: none of 7.2.x
    ['!=7.2', '7.3.0', true],
    ['!=7.x', '8.0.0', true],
    ['!=7.2', '8.0.0-rc.1', false], // a pre-release needs a comparison naming one
    ['!=7.2.5', '8.0.0-rc.1', true], // except an exact !=
    ['!=7.2-rc', '7.2.9-rc', false], // Masterminds compares only the pre-releases there
    ['!=7.2-rc', '7.2.0', true],
    ['>12', '12.9.0', false], // past every 12.x
    ['>12', '13.0.0', true],
    ['>12.4', '12.4.9', false],
    ['>12.4', '12.5.0', true],
    ['<=12.4', '12.4.9', true], // up to every 12.4.x
    ['<=12.4', '12.5.0', false],
    ['<12.4', '12.4.0', false],
    ['>=0', '0.0.0-alpha', false],
    ['>=0-0', '0.5.0-alpha', true],
    ['>0-0', '0.5.0-alpha', false], // > a dirty 0: past every 0.x
    ['<0-z', '0.0.0-alpha', true],
    ['*', '5.0.0-beta', false],
    ['*-0', '5.0.0-beta', true],
    ['~5.3.1', '5.3.9', true],
    ['~5.3.1', '5.4.0', false],
    ['~5', '5.8.0', true],
    ['~5.3-alpha', '5.3.4-beta', true],
    ['~5.3.4-beta', '5.3.4-alpha', false],
    ['~5.3.4-beta', '5.3.4', true],
    ['~0.0.0', '9.9.9', true], // ~0.0.0 is any version in Masterminds
    ['~*', '9.9.9', true],
    ['^5.3', '5.9.0', true],
    ['^5.3', '6.0.0', false],
    ['^5.x', '5.0.1-beta', false],
    ['^5.3.1-alpha', '5.6.0-beta', true], // pre-releases across patch releases, unlike npm
    ['^0.4.1', '0.4.9', true],
    ['^0.4.1', '0.5.0', false],
    ['^0.0.4', '0.0.5', false],
    ['^0.0', '0.0.9', true],
    ['^0.0', '0.1.0', false],
    ['^0', '0.9.0', true],
    ['^0.0.0', '1.0.0', false],
    ['2.1 - 3', '3.7.0', true], // a hyphen range ends past every 3.x
    ['2.1 - 3', '4.0.0', false],
    ['>=2.1 <3 !=2.5.0 || >=4', '2.5.0', false],
    ['>=2.1 <3 !=2.5.0 || >=4', '4.0.0', true],
    ['>= 2.1,  <   3', '2.9.9', true],
  ]
  for (const [constraint, version, expected] of cases) {
    assert.equal(parseSemverConstraint(constraint).matches(parseTagVersion(version)!), expected, `${constraint} on ${version}`)
  }
})

test('a constraint that does not parse is SYNC_FILE_INVALID naming it and the part at fault', () => {
  const cases: [string, RegExp][] = [
    ['banana', /^"banana" is not a semver constraint: write comparisons such as ">= 3.12.0"/],
    ['>=', /^">=" is not a semver constraint:/],
    ['', /^"" is not a semver constraint/],
    ['1.2,', /\(at ","\)/],
    ['>= 1.2.3.4', /\(at "\.4"\)/],
    ['|| 1', /a side of \|\| is empty/],
    ['>>1', /^">>1" is not a semver constraint/],
    ['1.2 -', /\(at "-"\)/],
    ['>=1.2<2', /\(at "<2"\)/],
  ]
  for (const [text, message] of cases) {
    assert.throws(() => parseSemverConstraint(text), (error: unknown) => error instanceof ZregError && error.code === 'SYNC_FILE_INVALID' && message.test(error.message), text)
  }
})

test('images-by-tag-regex: unanchored like Go MatchString, in the order of the tags', () => {
  const list = ['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.3-alpine-perl', 'x1.13.1-alpine-perl', '1.13.1-alpine', 'v1.2', '1.20']
  assert.deepEqual(tagsMatching(list, compileGoRegexp('^1\\.13\\.[12]-alpine-perl$')), ['1.13.1-alpine-perl', '1.13.2-alpine-perl'])
  assert.deepEqual(tagsMatching(list, compileGoRegexp('alpine$')), ['1.13.1-alpine'])
  assert.deepEqual(tagsMatching(list, compileGoRegexp('^1\\.2')), ['1.20'], 'unanchored at the end')
  assert.deepEqual(tagsMatching(list, compileGoRegexp('1\\.2')), ['v1.2', '1.20'], 'and at the start')
  // A global pattern would make test() stateful and skip every other match.
  assert.deepEqual(tagsMatching(['a1', 'a2', 'a3'], /a/g), ['a1', 'a2', 'a3'])
})

test("Go's RE2 syntax: translated where JavaScript differs, refused where it would read it otherwise", () => {
  const list = ['v1', 'V1.2', '123', 'ab', 'AB', 'a', ']', '1.2', '1x2', 'a.b']
  const translated: [string, string, string[]][] = [
    ['(?i)^v1', '/^v1/i', ['v1', 'V1.2']],
    ['(?is)^ab$', '/^ab$/is', ['ab', 'AB']],
    ['^[[:digit:]]+$', '/^[0-9]+$/', ['123']],
    ['^[[:alpha:][:digit:]]+$', '/^[A-Za-z0-9]+$/', ['v1', '123', 'ab', 'AB', 'a', '1x2']],
    ['\\Aab\\z', '/^ab$/', ['ab']],
    ['^(?P<name>a)$', '/^(?<name>a)$/', ['a']],
    ['^[]a]$', '/^[\\]a]$/', ['a', ']']],
    ['^[^]a]$', '/^[^\\]a]$/', []],
    ['^\\Qa.b\\E$', '/^a\\.b$/', ['a.b']],
    ['^\\x31', '/^\\x31/', ['123', '1.2', '1x2']],
    ['^\\d+(?:\\.\\d+)?$', '/^\\d+(?:\\.\\d+)?$/', ['123', '1.2']],
  ]
  for (const [go, js, matched] of translated) {
    const pattern = compileGoRegexp(go)
    assert.equal(String(pattern), js, go)
    assert.deepEqual(tagsMatching(list, pattern), matched, go)
  }
  const refused: [string, RegExp][] = [
    ['a(?=b)', /lookahead and lookbehind are not in Go's RE2 syntax/],
    ['(?<!a)b', /lookahead and lookbehind/],
    ['(a)\\1', /\\1 is a backreference/],
    ['a(?i)b', /only at the very start/],
    ['(?U)a+', /\(\?U\), ungreedy by default/],
    ['(?x)a', /\(\?x\) is not a flag/],
    ['\\pL', /\\p\{\.\.\.\} \(Unicode classes\) is not supported/],
    ['\\x{41}', /\\x\{\.\.\.\} is not supported/],
    ['\\y', /\\y is not supported/],
    ['[[:word:][:nope:]]', /\[:nope:\] is not a POSIX class/],
    ['[[:^digit:]]', /negated POSIX class/],
    ['(unclosed', /Unterminated group/],
    ['a\\', /ends with a lone backslash/],
  ]
  for (const [go, reason] of refused) {
    assert.throws(() => compileGoRegexp(go), (error: unknown) => error instanceof GoRegexpError && error.message.startsWith(`invalid regular expression ${JSON.stringify(go)}: `) && reason.test(error.message), go)
  }
})

test('keep-last: the n newest by version order, numeric-aware, pre-releases before their release, moving tags oldest', () => {
  assert.deepEqual(newestTags(['1.9', '1.10', '1.2', '1.11-rc1', '1.11'], 3), ['1.11', '1.11-rc1', '1.10'])
  assert.deepEqual(newestTags(['v1.9.0', '1.10', 'latest', '2.0.0-rc.2', '2.0.0-rc.10', '2.0.0-alpha'], 3), ['2.0.0-rc.10', '2.0.0-rc.2', '2.0.0-alpha'])
  assert.deepEqual(newestTags(['latest', '1.0', '1.1', 'edge'], 3), ['1.1', '1.0', 'latest'], 'moving tags come after every version')
  assert.deepEqual(newestTags(['nightly-9', 'nightly-10', 'nightly-010', 'build', 'nightly-9a'], 3), ['nightly-10', 'nightly-010', 'nightly-9a'], 'numeric-aware text order where no tag is a version')
  assert.deepEqual(newestTags(['2024.01.02', '2023.12.31', '2024.1.10'], 2), ['2024.1.10', '2024.01.02'], 'dates as versions')
  assert.deepEqual(newestTags(['1.2', 'v1.2.0', '1.2.0', '1.2'], 5), ['v1.2.0', '1.2.0', '1.2'], 'equal versions in a fixed order, duplicates once')
  assert.deepEqual(newestTags(['1', '2'], 0), [])
  assert.deepEqual(newestTags([], 3), [])
  assert.throws(() => newestTags(['1'], -1), RangeError)
  // A total order: the result does not depend on the order the registry listed the tags in.
  const shuffled = ['b10', '1.0', 'b9', 'latest', '1.0.0', 'v1', '0.9', 'b09', 'B1', '1.0-rc1']
  const sorted = [...shuffled].sort(compareTagAge)
  assert.deepEqual(sorted, ['B1', 'b09', 'b9', 'b10', 'latest', '0.9', '1.0-rc1', '1.0', '1.0.0', 'v1'])
  for (let i = 0; i < 20; i++) {
    const order = [...shuffled].sort(() => Math.random() - 0.5)
    assert.deepEqual([...order].sort(compareTagAge), sorted)
  }
})
