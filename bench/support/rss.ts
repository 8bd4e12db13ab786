import { readdirSync, readFileSync } from 'node:fs'

/**
 * RSS of a server, which may be several processes (`zreg serve` forks a worker per core, node:cluster):
 * MB are 10^6 bytes. `largestMB` is the one process holding the most (what a memory target for one
 * server process means); `totalMB` adds them all (what the machine gives the server).
 */
export interface TreeRss {
  largestMB: number
  /** The largest process but the one started (a serve worker); NaN for a server of one process. */
  largestChildMB: number
  /** RssAnon of that process: its private memory (the rest is mapped files, mostly the node binary's pages, shared and reclaimable). */
  largestAnonMB: number
  totalMB: number
  /**
   * Proportional set size over all the processes (smaps_rollup's Pss): each shared page counted once
   * across them (the node binary's pages, which every process maps), so the memory the server costs.
   */
  totalPssMB: number
  processes: number
}

/** What an rssSampler saw, over the process tree. */
export interface RssSample {
  /** The largest single process's VmRSS in any sample. */
  maxMB: number
  /** The largest sum over the tree in any sample. */
  maxTotalMB: number
  /** The largest VmRSS of any process but the one started (a serve worker), in any sample; NaN when there was none. */
  maxChildMB: number
  /** The largest VmHWM of the processes at the end: the kernel's peak, which includes a process's start. */
  hwmMB: number
  samples: number
}

const kB = 1024 / 1e6

/** `pid` and every process below it, from /proc (children of each thread). */
function processTree(pid: number): number[] {
  const found = [pid]
  for (let i = 0; i < found.length; i++) {
    let tasks: string[] = []
    try {
      tasks = readdirSync(`/proc/${found[i]}/task`)
    } catch {
      continue
    }
    for (const task of tasks) {
      try {
        for (const child of readFileSync(`/proc/${found[i]}/task/${task}/children`, 'utf8').split(' ')) if (child !== '') found.push(Number(child))
      } catch {
        // gone meanwhile
      }
    }
  }
  return found
}

/** VmRSS, RssAnon and VmHWM (kB) of one process, or undefined once it is gone. */
function statusOf(pid: number): { pid: number; rss: number; anon: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)
    const anon = /RssAnon:\s+(\d+) kB/.exec(status)
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
    return rss && hwm ? { pid, rss: Number(rss[1]), anon: Number(anon?.[1] ?? NaN), hwm: Number(hwm[1]) } : undefined
  } catch {
    return undefined
  }
}

/** Pss (kB) of one process, or NaN when /proc does not say. */
function pssOf(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN)
  } catch {
    return NaN
  }
}

/** RSS of process `pid` and its descendants now; NaN figures when /proc does not say. */
export function treeRssNow(pid: number): TreeRss {
  const statuses = processTree(pid).map(statusOf).filter((status) => status !== undefined)
  if (statuses.length === 0) return { largestMB: NaN, largestChildMB: NaN, largestAnonMB: NaN, totalMB: NaN, totalPssMB: NaN, processes: 0 }
  const largest = statuses.reduce((a, b) => (b.rss > a.rss ? b : a))
  const children = statuses.filter((status) => status.pid !== pid)
  return {
    largestMB: largest.rss * kB,
    largestChildMB: children.length === 0 ? NaN : Math.max(...children.map((status) => status.rss)) * kB,
    largestAnonMB: largest.anon * kB,
    totalMB: statuses.reduce((sum, status) => sum + status.rss, 0) * kB,
    totalPssMB: statuses.reduce((sum, status) => sum + pssOf(status.pid), 0) * kB,
    processes: statuses.length,
  }
}

/** Samples the RSS of process `pid` and its descendants every intervalMs; stop() returns the peaks. */
export function rssSampler(pid: number, intervalMs = 100): { stop(): RssSample } {
  let max = 0
  let maxTotal = 0
  let maxChild = NaN
  let hwm = 0
  let samples = 0
  const read = () => {
    const statuses = processTree(pid).map(statusOf).filter((status) => status !== undefined)
    if (statuses.length === 0) return
    samples++
    max = Math.max(max, ...statuses.map((status) => status.rss))
    maxTotal = Math.max(maxTotal, statuses.reduce((sum, status) => sum + status.rss, 0))
    for (const status of statuses) if (status.pid !== pid && !(status.rss <= maxChild)) maxChild = status.rss
    hwm = Math.max(hwm, ...statuses.map((status) => status.hwm))
  }
  read()
  const timer = setInterval(read, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      read()
      return { maxMB: max * kB, maxTotalMB: maxTotal * kB, maxChildMB: maxChild * kB, hwmMB: hwm * kB, samples }
    },
  }
}
