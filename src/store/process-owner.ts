import { readFileSync, readlinkSync } from 'node:fs'
import { processAlive } from './lock.js'

/**
 * Names a process well enough to tell, later and from another process, whether it still runs: its pid,
 * its start time (so a reused pid is not mistaken for it) and its pid namespace (so a pid from another
 * container is not judged by ours). Encoded `PID-START-NS`, digits only, for use in file names.
 */
export interface ProcessOwner {
  pid: number
  /** Start time in clock ticks since boot (/proc/PID/stat field 22); 0 where unknown. */
  start: number
  /** The pid namespace's inode (/proc/self/ns/pid); 0 where unknown. */
  namespace: number
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses, so count from its end. */
function startTicks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number.parseInt(fields[19] ?? '0', 10) || 0
  } catch {
    return 0
  }
}

function pidNamespace(): number {
  try {
    return Number.parseInt(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0', 10) || 0
  } catch {
    return 0
  }
}

const self: ProcessOwner = { pid: process.pid, start: startTicks('self'), namespace: pidNamespace() }

/** This process, encoded. */
export const thisProcessOwner = `${self.pid}-${self.start}-${self.namespace}`

/** Reads `PID-START-NS` (or the bare `PID` older names carry) at the start of a name. */
export function parseOwner(name: string): ProcessOwner | undefined {
  const match = /^(\d+)(?:-(\d+)-(\d+))?(?:\D|-|$)/.exec(name)
  if (!match) return undefined
  return { pid: Number(match[1]), start: Number(match[2] ?? 0), namespace: Number(match[3] ?? 0) }
}

/**
 * Whether `owner` still runs: true or false, or undefined when this process cannot tell (it ran in
 * another pid namespace, or left no start time and its pid is in use).
 */
export function ownerRunning(owner: ProcessOwner): boolean | undefined {
  if (owner.namespace !== 0 && self.namespace !== 0 && owner.namespace !== self.namespace) return undefined
  if (owner.pid === self.pid && owner.start === self.start) return true
  if (!processAlive(owner.pid)) return false
  if (owner.start === 0 || self.start === 0) return undefined
  return startTicks(owner.pid) === owner.start
}
