import { open, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { ZregError } from '../errors.js'

export interface LockOptions {
  timeoutMs?: number
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A lock whose owner died (kill -9) must not wedge the store: its pid no longer runs. */
async function removeIfStale(path: string): Promise<boolean> {
  let owner: number
  try {
    owner = Number.parseInt(await readFile(path, 'utf8'), 10)
  } catch {
    return false
  }
  // A lock file still being written has no pid yet; give its writer a moment.
  if (Number.isNaN(owner)) {
    const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()))
    if (age < 5000) return false
  } else if (processAlive(owner)) {
    return false
  }
  await rm(path, { force: true })
  return true
}

/** Runs `work` holding an exclusive lock file (created with O_EXCL, holding our pid). */
export async function withLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let wait = 5
  for (;;) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(String(process.pid))
      } finally {
        await handle.close()
      }
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (await removeIfStale(path)) continue
      if (Date.now() > deadline) throw new ZregError('LOCK_TIMEOUT', `timed out waiting for the lock ${path}`)
      await sleep(wait)
      wait = Math.min(wait * 2, 100)
    }
  }
  try {
    return await work()
  } finally {
    await rm(path, { force: true })
  }
}
