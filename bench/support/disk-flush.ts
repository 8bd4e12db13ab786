import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { track } from './children.js'

/**
 * A shell started once that runs sync(1) whenever asked. Spawning a process from this one right before
 * an in-process measurement would charge it for fork's copy-on-write: every heap page written next
 * faults once (here a one-tag rebuild took 50-60 ms longer after any spawn, even of true(1)).
 */
let flusher: ChildProcessByStdio<Writable, Readable, null> | undefined

/** Starts the sync shell; call before anything is measured in this process. */
export function startFlusher(): void {
  const child = track(spawn('sh', ['-c', 'while read -r _; do sync; echo; done'], { stdio: ['pipe', 'pipe', 'inherit'] }))
  // Idle between flushes, it must not keep the benchmark from exiting.
  child.unref()
  ;(child.stdout as Socket).unref()
  flusher = child
}

/** Flushes write-back left by earlier work (a previous upload, a removed store), so it is not charged to the next one. */
export function flushDisk(): Promise<void> {
  if (flusher === undefined) startFlusher()
  const child = flusher!
  const stdout = child.stdout as Socket
  child.ref()
  stdout.ref()
  return new Promise((resolve, reject) => {
    const died = () => reject(new Error('the sync helper exited'))
    child.once('exit', died)
    child.stdout.once('data', () => {
      child.off('exit', died)
      child.unref()
      stdout.unref()
      resolve()
    })
    child.stdin.write('\n')
  })
}
