import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { mapLimit } from '../../src/ingest/map-limit.js'

test('mapLimit keeps order and the limit', async () => {
  let running = 0
  let most = 0
  const out = await mapLimit([30, 10, 20, 5, 1], 2, async (ms, i) => {
    most = Math.max(most, ++running)
    await sleep(ms)
    running--
    return i
  })
  assert.deepEqual(out, [0, 1, 2, 3, 4])
  assert.equal(most, 2)
})

test('mapLimit starts nothing after a failure and rejects only when the running ones settled', async () => {
  const started: number[] = []
  let settled = 0
  await assert.rejects(
    mapLimit([0, 1, 2, 3], 2, async (i) => {
      started.push(i)
      if (i === 0) throw new Error('first')
      await sleep(20)
      settled++
    }),
    /first/,
  )
  assert.deepEqual(started, [0, 1])
  assert.equal(settled, 1)
})
