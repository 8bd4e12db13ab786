import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startDistribution } from '../servers/distribution.js'
import { startZregPush } from '../servers/zreg.js'
import { freshDir } from '../support/disk.js'
import type { Server } from '../support/server.js'

/** A server pushed into: each start() gives a fresh one on an empty store of its own, removed when it stops. */
export interface PushTarget {
  name: 'zreg push' | 'distribution'
  start(): Promise<Server>
}

/** zreg push and distribution, their stores under `root`. */
export function pushTargets(root: string): PushTarget[] {
  let n = 0
  const fresh = (name: string) => freshDir(join(root, `${name.replace(/\W+/g, '-')}-${process.pid}-${n++}`))
  const removedOnStop = (server: Server, dir: string) => {
    server.onStop(() => rmSync(dir, { recursive: true, force: true }))
    return server
  }
  return [
    {
      name: 'zreg push',
      start: async () => {
        const dir = fresh('zreg')
        return removedOnStop(await startZregPush(join(dir, 'store'), join(dir, 'site')), dir)
      },
    },
    {
      name: 'distribution',
      start: async () => {
        const dir = fresh('distribution')
        return removedOnStop(await startDistribution(join(dir, 'root'), join(dir, 'distribution.yml')), dir)
      },
    },
  ]
}

/** Starts a fresh server, runs `work(server)`, stops it (its store removed) whatever happens. */
export async function withFreshServer<T>(target: PushTarget, work: (server: Server) => Promise<T>): Promise<T> {
  const server = await target.start()
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

/** `list` turned by `round` places, so no server always goes first. */
export function rotated<T>(list: readonly T[], round: number): T[] {
  return list.map((_, i) => list[(i + round) % list.length]!)
}
