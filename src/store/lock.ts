import { randomBytes } from 'node:crypto'
import { open, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { ZregError } from '../errors.js'

export interface LockOptions {
  timeoutMs?: number
}

/** Tells this process apart from an earlier one that had the same pid (containers reuse pid 1). */
const processNonce = randomBytes(8).toString('hex')

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A lock's owner is gone when its pid no longer runs, or is ours but from an earlier process. */
function ownerGone(content: string): boolean {
  const [pid, nonce] = content.split(' ')
  const owner = Number.parseInt(pid ?? '', 10)
  if (Number.isNaN(owner)) return false
  if (owner === process.pid) return nonce !== processNonce
  return !processAlive(owner)
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx')
    try {
      await handle.writeFile(content)
    } finally {
      await handle.close()
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/**
 * Removes the lock at `path` when its owner died (kill -9). Only one process may break a given lock:
 * it holds `<path>.break` (itself taken over after 10 s, should its holder die too) and removes the
 * lock only if it still holds the content it judged stale.
 */
async function breakIfStale(path: string): Promise<boolean> {
  const content = await readFile(path, 'utf8').catch(() => undefined)
  if (content === undefined) return true
  if (content === '') {
    // Created but not yet written: its writer is between two calls; give it a moment.
    const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()))
    if (age < 5000) return false
  } else if (!ownerGone(content)) {
    return false
  }
  const breaker = `${path}.break`
  if (!(await createExclusive(breaker, `${process.pid} ${processNonce}`))) {
    const age = Date.now() - (await stat(breaker).then((s) => s.mtimeMs, () => Date.now()))
    if (age > 10_000) await rm(breaker, { force: true })
    return false
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => undefined)) === content) await rm(path, { force: true })
  } finally {
    await rm(breaker, { force: true })
  }
  return true
}

/**
 * Runs `work` holding an exclusive lock file (created with O_EXCL, holding our pid and a token). A lock
 * left by a dead process is taken over; on release only our own lock is removed.
 */
export async function withLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  const token = `${process.pid} ${processNonce} ${randomBytes(8).toString('hex')}`
  let wait = 5
  while (!(await createExclusive(path, token))) {
    if (await breakIfStale(path)) continue
    if (Date.now() > deadline) throw new ZregError('LOCK_TIMEOUT', `timed out waiting for the lock ${path}`)
    await sleep(wait)
    wait = Math.min(wait * 2, 100)
  }
  try {
    return await work()
  } finally {
    if ((await readFile(path, 'utf8').catch(() => undefined)) === token) await rm(path, { force: true })
  }
}
