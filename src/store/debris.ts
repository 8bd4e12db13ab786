import { readdirSync, rmSync } from 'node:fs'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ownerRunning, parseOwner, thisProcessOwner } from './process-owner.js'

/** What an interrupted zreg left in a store: a staging directory or a temp file whose process is gone. */
export interface Debris {
  /** Path inside the store. */
  path: string
  /** Bytes it holds. */
  bytes: number
}

/** Staging directories live here, one per `zreg add`, named after their process (`process-owner.ts`). */
export const stagingRoot = join('.zreg', 'tmp')

// Where the owner cannot be judged (another pid namespace sharing the store), only this age says it is gone.
const unjudgedAfterMs = 60 * 60 * 1000

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return 0
  if (!info.isDirectory()) return info.size
  let total = 0
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, name))
  return total
}

async function isDebris(path: string, owner: ReturnType<typeof parseOwner>): Promise<boolean> {
  if (!owner) return false
  const running = ownerRunning(owner)
  if (running !== undefined) return !running
  const info = await stat(path).catch(() => undefined)
  return info !== undefined && Date.now() - info.mtimeMs > unjudgedAfterMs
}

/**
 * Lists the debris of dead processes in the store at `dir`: staging directories under .zreg/tmp (with
 * their `.part` files) and `writeFileAtomic` temp files beside index.json. A live process's are never
 * listed, so a concurrent `zreg add` is not disturbed.
 */
export async function findDebris(dir: string): Promise<Debris[]> {
  const found: Debris[] = []
  const staging = join(dir, stagingRoot)
  for (const name of await readdir(staging).catch(() => [] as string[])) {
    const path = join(staging, name)
    if (await isDebris(path, parseOwner(name))) found.push({ path, bytes: await sizeOf(path) })
  }
  // tempPathBeside: `.<name>.<pid>.<random>.tmp`.
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const match = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)
    if (!match) continue
    const path = join(dir, name)
    if (await isDebris(path, parseOwner(match[1]!))) found.push({ path, bytes: await sizeOf(path) })
  }
  return found
}

/** Removes what `findDebris` lists; returns it. */
export async function removeDebris(dir: string): Promise<Debris[]> {
  const found = await findDebris(dir)
  for (const debris of found) await rm(debris.path, { recursive: true, force: true })
  return found
}

/**
 * Removes this process's own staging directories; returns their paths. Synchronous on purpose: it runs
 * when a signal ends the process, and no other work of this process may run between it and the exit.
 */
export function removeOwnStagingSync(dir: string): string[] {
  const staging = join(dir, stagingRoot)
  let names: string[]
  try {
    names = readdirSync(staging)
  } catch {
    return []
  }
  const own = names.filter((name) => name.startsWith(`${thisProcessOwner}-`)).map((name) => join(staging, name))
  for (const path of own) rmSync(path, { recursive: true, force: true })
  return own
}
