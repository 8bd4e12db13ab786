import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPublishProgress } from '../../src/cli/publish-progress.js'
import { VirtualTerminal } from '../helpers/virtual-terminal.js'

test('on a terminal: one bar of objects and bytes, gone when the publish ends', () => {
  const terminal = new VirtualTerminal(100)
  const progress = createPublishProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: true })
  progress.update({ objects: 3, totalObjects: 10, bytes: 2 * 1024 * 1024, totalBytes: 8 * 1024 * 1024 })
  assert.match(terminal.raw, /3\/10 objects {2}2\.0 MiB\/8\.0 MiB/)
  progress.update({ objects: 10, totalObjects: 10, bytes: 8 * 1024 * 1024, totalBytes: 8 * 1024 * 1024 })
  progress.stop()
  assert.match(terminal.raw, /10\/10 objects/)
  assert.deepEqual(terminal.lines.map((line) => line.trim()).filter(Boolean), [], 'the bar is cleared')
  assert.ok(terminal.cursorVisible)
})

test('elsewhere (a pipe, a CI log, --json): nothing at all', () => {
  const terminal = new VirtualTerminal()
  const progress = createPublishProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: false })
  progress.update({ objects: 1, totalObjects: 2, bytes: 10, totalBytes: 20 })
  progress.stop()
  assert.equal(terminal.raw, '')
})
