import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { createSyncProgress, failedLine, syncedLine, unchangedLine } from '../../src/cli/sync-progress.js'
import { VirtualTerminal } from '../helpers/virtual-terminal.js'

const busybox = 'docker.io/library/busybox:1.36'

test('the log lines say what happened to each image', () => {
  assert.equal(syncedLine(busybox, 'busybox:1.36', 3, 2_202_010), 'synced docker.io/library/busybox:1.36 -> busybox:1.36 (3 blobs, 2.1 MiB)')
  assert.equal(syncedLine('quay.io/coreos/etcd:latest', 'mirror/coreos/etcd:latest', 1, 512), 'synced quay.io/coreos/etcd:latest -> mirror/coreos/etcd:latest (1 blob, 512 B)')
  assert.equal(unchangedLine(busybox, 'busybox:1.36'), 'unchanged docker.io/library/busybox:1.36 -> busybox:1.36')
  assert.equal(failedLine(busybox, 'the registry answered 503'), 'failed docker.io/library/busybox:1.36: the registry answered 503')
})

test('without a terminal: no bars, only the plain lines, in the order the images finish', () => {
  let output = ''
  const stream = { isTTY: false, write: (chunk: string) => ((output += chunk), true) } as unknown as NodeJS.WriteStream
  const progress = createSyncProgress({ stream, tty: false, totalImages: 3 })
  progress.imageStarted('a', busybox)
  progress.imageStarted('b', 'docker.io/library/alpine:3.20')
  progress.imageBytes('a', 1024, 4096)
  progress.imageBytes('b', 10)
  progress.imageFinished('b', failedLine('docker.io/library/alpine:3.20', 'manifest unknown'))
  progress.imageFinished('a', syncedLine(busybox, 'busybox:1.36', 3, 2_202_010))
  progress.imageFinished('c', unchangedLine('docker.io/library/redis:7', 'redis:7'))
  progress.stop()
  assert.equal(
    output,
    'failed docker.io/library/alpine:3.20: manifest unknown\n' +
      'synced docker.io/library/busybox:1.36 -> busybox:1.36 (3 blobs, 2.1 MiB)\n' +
      'unchanged docker.io/library/redis:7 -> redis:7\n',
  )
})

test('--json on a terminal (tty: false) writes no escape sequence either', () => {
  const terminal = new VirtualTerminal()
  const progress = createSyncProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: false, totalImages: 1 })
  progress.imageStarted('a', busybox)
  progress.imageBytes('a', 100, 200)
  progress.imageFinished('a', unchangedLine(busybox, 'busybox:1.36'))
  progress.stop()
  assert.equal(terminal.raw, 'unchanged docker.io/library/busybox:1.36 -> busybox:1.36\n')
})

test('on a terminal: a total line and one bar per image in flight; stop() leaves only the log lines', async () => {
  const terminal = new VirtualTerminal(100)
  const progress = createSyncProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: true, totalImages: 3 })
  progress.imageStarted('a', busybox)
  progress.imageStarted('b', 'registry.example.com:5000/some/very/long/repository/name/for/the/label:1.0')
  progress.imageBytes('a', 1024, 4096)
  progress.imageBytes('b', 3 * 1024 * 1024)
  await sleep(450) // bars redraw five times a second
  let screen = terminal.screen()
  assert.equal(screen.length, 3, screen.join('\n'))
  assert.match(screen[0]!, /^total .* 0\/3 images {2}3\.0 MiB {2}[\d.]+ [KMG]?i?B\/s$/)
  assert.match(screen[1]!, /^docker\.io\/library\/busybox:1\.36 █████░{15} 1\.0 KiB\/4\.0 KiB {2}[\d.]+ [KMG]?i?B\/s$/)
  assert.match(screen[2]!, /^….*\/for\/the\/label:1\.0 {21} 3\.0 MiB {2}/, 'a long label loses its start, not its tag')
  for (const line of screen) assert.ok(line.length < terminal.columns, `fits the terminal: ${line}`)

  progress.imageFinished('a', syncedLine(busybox, 'busybox:1.36', 3, 4096))
  screen = terminal.screen()
  assert.equal(screen[0], 'synced docker.io/library/busybox:1.36 -> busybox:1.36 (3 blobs, 4.0 KiB)')
  assert.match(screen[1]!, /^total .* 1\/3 images/)
  assert.match(screen[2]!, /label:1\.0/)
  assert.equal(screen.length, 3, screen.join('\n'))

  // An image that needed nothing may finish without having started.
  progress.imageFinished('c', unchangedLine('docker.io/library/redis:7', 'redis:7'))
  progress.imageFinished('b', failedLine('registry.example.com:5000/some/very/long/repository/name/for/the/label:1.0', 'blob unknown'))
  progress.stop()
  progress.stop()
  progress.imageStarted('late', 'ignored after stop')
  progress.imageFinished('late', 'ignored after stop')
  assert.deepEqual(terminal.screen(), [
    'synced docker.io/library/busybox:1.36 -> busybox:1.36 (3 blobs, 4.0 KiB)',
    'unchanged docker.io/library/redis:7 -> redis:7',
    'failed registry.example.com:5000/some/very/long/repository/name/for/the/label:1.0: blob unknown',
  ])
  assert.equal(terminal.row, 3, 'the cursor is on the line after the last log line')
  assert.equal(terminal.col, 0)
  assert.ok(terminal.cursorVisible && terminal.lineWrap, 'cursor and line wrapping as they were')
})

test('a progress display never stopped does not keep the process alive', async () => {
  const terminal = new VirtualTerminal(60)
  const progress = createSyncProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: true, totalImages: 1 })
  progress.imageStarted('a', busybox)
  await sleep(250)
  // node:test waits for the event loop to empty before it ends the file: a live timer would hang it.
})

test('on a terminal, stop() without any image finished clears the bars', async () => {
  const terminal = new VirtualTerminal(60)
  const progress = createSyncProgress({ stream: terminal as unknown as NodeJS.WriteStream, tty: true, totalImages: 2 })
  progress.imageStarted('a', busybox)
  progress.imageBytes('a', 10, 100)
  await sleep(250)
  assert.equal(terminal.screen().length, 2)
  progress.stop()
  assert.deepEqual(terminal.screen(), [])
  assert.equal(terminal.row, 0)
})
