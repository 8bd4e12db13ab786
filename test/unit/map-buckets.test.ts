import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { mapBucketCount, planMapBuckets, writeMapBuckets } from '../../src/build/map-buckets.js'

const repositories = Array.from({ length: 500 }, (_, i) => ({ name: `team/app${i}`, input: '', key: `k${i}` }))
const lines = (key: string) => `"${key}" "x";\n`

test('a generation whose one repository changed writes one bucket and links the others to the previous generation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zreg-buckets-'))
  writeMapBuckets(join(dir, 'a'), undefined, planMapBuckets(repositories), lines)
  const first = readdirSync(join(dir, 'a')).sort()
  assert.ok(first.length > 1 && first.length <= mapBucketCount(repositories.length))
  const all = first.map((name) => readFileSync(join(dir, 'a', name), 'utf8')).join('')
  assert.equal(all.split('\n').filter((line) => line.startsWith('"')).length, repositories.length, 'every repository in exactly one bucket')
  assert.equal(all.split('\n').filter((line) => line.startsWith('# k')).length, repositories.length, "each repository's lines after a comment naming its key")
  const changed = repositories.map((repository, i) => (i === 7 ? { ...repository, key: 'k7-new' } : repository))
  writeMapBuckets(join(dir, 'b'), join(dir, 'a'), planMapBuckets(changed), lines)
  const second = readdirSync(join(dir, 'b')).sort()
  const fresh = second.filter((name) => statSync(join(dir, 'b', name)).nlink === 1)
  assert.equal(fresh.length, 1, 'one bucket written')
  assert.match(readFileSync(join(dir, 'b', fresh[0]!), 'utf8'), /"k7-new"/)
  assert.equal(second.length, first.length)
})

test('no file for an empty bucket (Caddy cannot import an empty file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zreg-buckets-'))
  writeMapBuckets(dir, undefined, planMapBuckets(repositories.slice(0, 1)), lines)
  assert.equal(readdirSync(dir).length, 1)
})

test('a bucket holds about 64 repositories at most: more repositories, more buckets (16 to 1,024)', () => {
  assert.equal(mapBucketCount(10), 16)
  assert.equal(mapBucketCount(1_000), 16)
  assert.equal(mapBucketCount(1_025), 32)
  assert.equal(mapBucketCount(10_000), 256)
  assert.equal(mapBucketCount(1_000_000), 1024)
  const dir = mkdtempSync(join(tmpdir(), 'zreg-buckets-'))
  const many = Array.from({ length: 3_000 }, (_, i) => ({ name: `team/app${i}`, input: '', key: `k${i}` }))
  writeMapBuckets(dir, undefined, planMapBuckets(many), lines)
  const files = readdirSync(dir)
  assert.ok(files.length > 32 && files.length <= 64, `${files.length} buckets for 3,000 repositories`)
  assert.ok(files.every((name) => /^64-[0-9a-f]{3}-[0-9a-f]{16}\.map$/.test(name)))
})

test("a bucket written again copies its unchanged repositories' lines from the previous file, and asks only for the changed one's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'zreg-buckets-'))
  const few = repositories.slice(0, 10)
  writeMapBuckets(join(dir, 'a'), undefined, planMapBuckets(few), lines)
  // All ten share one of the 16 buckets or a few: change one and see which lines are asked for.
  const changed = few.map((repository, i) => (i === 3 ? { ...repository, key: 'k3-new' } : repository))
  const asked: string[] = []
  writeMapBuckets(join(dir, 'b'), join(dir, 'a'), planMapBuckets(changed), (key) => {
    asked.push(key)
    return `"${key}" "new";\n`
  })
  assert.deepEqual(asked, ['k3-new'])
  const text = readdirSync(join(dir, 'b')).map((name) => readFileSync(join(dir, 'b', name), 'utf8')).join('')
  for (const repository of changed) assert.ok(text.includes(`# ${repository.key}\n"${repository.key}" "${repository.key === 'k3-new' ? 'new' : 'x'}";\n`), repository.key)
  // A previous file of another layout (no comments) is not copied from: every line is asked for.
  const plain = join(dir, 'c')
  mkdirSync(plain)
  const bucket = planMapBuckets(few).find((entry) => entry.members.some((member) => member.key === 'k3'))!
  writeFileSync(join(plain, bucket.name), bucket.members.map((member) => lines(member.key)).join(''))
  asked.length = 0
  writeMapBuckets(join(dir, 'd'), plain, planMapBuckets(changed).filter((entry) => entry.index === bucket.index), (key) => {
    asked.push(key)
    return lines(key)
  })
  assert.deepEqual(asked.sort(), bucket.members.map((member) => (member.key === 'k3' ? 'k3-new' : member.key)).sort())
})
