import { mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Times 5,000 metadata operations (1,000 directories with 4 links each) in `dir`'s file system, ms:
 * builds are bound by such operations, and this disk's cost for them has varied threefold within an hour.
 */
export function calibrateMetadataOps(dir: string): number {
  const base = join(dir, `calibrate-${process.pid}`)
  rmSync(base, { recursive: true, force: true })
  mkdirSync(base)
  const started = performance.now()
  for (let i = 0; i < 1000; i++) {
    const sub = join(base, `r${i}`)
    mkdirSync(sub)
    for (const part of ['a', 'b', 'c', 'd']) symlinkSync(`../x/${part}`, join(sub, part))
  }
  const ms = performance.now() - started
  rmSync(base, { recursive: true, force: true })
  return ms
}
