import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from './children.js'
import { flushDisk } from './disk-flush.js'
import { MiB } from './stats.js'

/** `dir`, empty: whatever an earlier run left there is removed. */
export function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Bytes under `dir` (`du -sb`; `followLinks`: -L, the bytes a copy that follows links would hold). */
export function treeBytes(dir: string, options: { followLinks?: boolean } = {}): number {
  const flags = options.followLinks ? '-sbL' : '-sb'
  return Number(spawnSync('du', [flags, dir], { encoding: 'utf8' }).stdout.split(/\s/)[0])
}

/** Reads files once so that the first timed round does not pay for the disk. */
export async function warmPageCache(files: readonly string[]): Promise<void> {
  await run('sh', ['-c', 'cat "$@" > /dev/null', 'sh', ...files], { timeoutMs: 600000 })
}

/** sync(1) as a process: before a command that runs as a process anyway (no copy-on-write cost here: see disk-flush.ts). */
export async function syncDisk(): Promise<void> {
  await run('sync', [])
}

/** How fast this disk takes `bytes` written and fdatasync'd in `dir` (MB/s, 10^6 bytes): the bound of any durable upload. */
export async function diskWriteMBps(dir: string, bytes: number): Promise<number> {
  const path = join(dir, `calibration-${process.pid}`)
  const chunk = Buffer.alloc(MiB, 1)
  await flushDisk()
  const started = performance.now()
  const handle = await open(path, 'w')
  try {
    for (let written = 0; written < bytes; written += chunk.length) await handle.write(chunk)
    await handle.datasync()
  } finally {
    await handle.close()
    await rm(path, { force: true })
  }
  return bytes / ((performance.now() - started) / 1000) / 1e6
}
