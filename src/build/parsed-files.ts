import { statSync } from 'node:fs'

/**
 * Files a build reads whole and parses on every run (the live generation's site manifest, its keys
 * and refs memo), kept parsed in this process, each under the identity its file had (inode, size,
 * mtime and ctime in ns): a file replaced or edited since reads again. Push mode rebuilds after every
 * push in one process; with 100,000 tags these files are 2.5 MB of JSON and lines, and reading,
 * parsing and turning them into maps took 100-150 ms of each one-tag rebuild on this class of
 * machine. A build primes the memory with what it has just written, so the next one reads nothing.
 *
 * Values are shared between builds: callers never change them, but for one taken over after
 * forgetParsed.
 */
const kept = new Map<string, { identity: string; value: unknown }>()

/** Files kept at once (a few per tree): the oldest goes first. */
const keptLimit = 24

function identityOf(path: string): string | undefined {
  const info = statSync(path, { bigint: true, throwIfNoEntry: false })
  return info === undefined ? undefined : `${info.ino}-${info.size}-${info.mtimeNs}-${info.ctimeNs}`
}

function keep(path: string, identity: string, value: unknown): void {
  kept.delete(path)
  kept.set(path, { identity, value })
  if (kept.size > keptLimit) kept.delete(kept.keys().next().value!)
}

/** `parse(path)`'s value for the file as it is now: from memory when the file is the one kept, else parsed (and kept unless undefined). */
export function readParsed<T>(path: string, parse: (path: string) => T | undefined): T | undefined {
  const identity = identityOf(path)
  if (identity === undefined) return undefined
  const entry = kept.get(path)
  if (entry !== undefined && entry.identity === identity) return entry.value as T
  const value = parse(path)
  if (value !== undefined) keep(path, identity, value)
  return value
}

/** Keeps `value` as what the file just written at `path` parses to. */
export function rememberParsed(path: string, value: unknown): void {
  const identity = identityOf(path)
  if (identity !== undefined) keep(path, identity, value)
}

/** Drops what is kept for `path`: its value is about to change in place (the next read parses the file again). */
export function forgetParsed(path: string): void {
  kept.delete(path)
}
