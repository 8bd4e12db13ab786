import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generationTexts, joinedText, keysOf } from '../../src/build/generation-texts.js'
import { mapBucketCount, planMapBuckets } from '../../src/build/map-buckets.js'

const repositories = Array.from({ length: 300 }, (_, i) => ({ name: `team/app${i}`, input: `i${i}`, key: `k${i}` }))
const tags = new Map(repositories.map((repository, i) => [repository.name, i % 4]))
const count = mapBucketCount(repositories.length)

test("a generation's texts are those of the last one but for the buckets whose repositories changed", () => {
  const first = generationTexts(count, planMapBuckets(repositories), tags, undefined)
  const retagged = repositories.map((repository, i) => (i === 7 ? { ...repository, key: 'k7-new', input: 'i7-new' } : repository))
  const second = generationTexts(count, planMapBuckets(retagged), tags, first)
  const changed = first.buckets.flatMap((bucket, index) => (bucket === second.buckets[index] ? [] : [index]))
  assert.equal(changed.length, 1, 'one bucket made again')
  assert.ok(second.buckets[changed[0]!]!.bucket.members.some((member) => member.key === 'k7-new'))
  // An input or a tag count alone changes its bucket too (the site manifest and the refs memo hold them).
  const input = generationTexts(count, planMapBuckets(repositories.map((repository, i) => (i === 9 ? { ...repository, input: 'other' } : repository))), tags, first)
  assert.equal(first.buckets.filter((bucket, index) => bucket !== input.buckets[index]).length, 1)
  const counted = generationTexts(count, planMapBuckets(repositories), new Map([...tags, ['team/app9', 99]]), first)
  assert.equal(first.buckets.filter((bucket, index) => bucket !== counted.buckets[index]).length, 1)
  // Another bucket count: nothing is taken from texts split otherwise.
  const many = generationTexts(count * 2, planMapBuckets(repositories), tags, first)
  assert.ok(many.buckets.every((bucket) => !first.buckets.includes(bucket)))
})

test('the joined texts name every repository once: the site manifest maps, the keys, repos.map and the tag counts', () => {
  const texts = generationTexts(count, planMapBuckets(repositories), tags, undefined)
  const object = (part: 'repositories' | 'inputs' | 'tags') => JSON.parse(`{${Buffer.concat(joinedText(texts, part, Buffer.from(','))).toString()}}`) as Record<string, unknown>
  assert.deepEqual(object('repositories'), Object.fromEntries(repositories.map((repository) => [repository.name, repository.key])))
  assert.deepEqual(object('inputs'), Object.fromEntries(repositories.map((repository) => [repository.name, repository.input])))
  assert.deepEqual(object('tags'), Object.fromEntries(tags))
  assert.deepEqual(Buffer.concat(joinedText(texts, 'keys')).toString().split('\n').filter(Boolean).sort(), repositories.map((repository) => repository.key).sort())
  assert.deepEqual([...keysOf(texts)].sort(), repositories.map((repository) => repository.key).sort())
  const lines = Buffer.concat(joinedText(texts, 'reposMap')).toString().split('\n').filter(Boolean)
  assert.equal(lines.length, repositories.length)
  assert.ok(lines.includes('"/v2/team/app7" k7;'))
})
