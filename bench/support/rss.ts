import { readFileSync } from 'node:fs'

/** What an rssSampler saw: MB are 10^6 bytes. */
export interface RssSample {
  /** The largest VmRSS sampled. */
  maxMB: number
  /** VmHWM at the end: the kernel's peak, which includes the process's start. */
  hwmMB: number
  samples: number
}

/** Samples VmRSS of process `pid` every intervalMs (from /proc); stop() returns the maximum and VmHWM. */
export function rssSampler(pid: number, intervalMs = 100): { stop(): RssSample } {
  let maxKiB = 0
  let samples = 0
  let hwmKiB = 0
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const rss = /VmRSS:\s+(\d+) kB/.exec(status)
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
      if (rss) {
        maxKiB = Math.max(maxKiB, Number(rss[1]))
        samples++
      }
      if (hwm) hwmKiB = Number(hwm[1])
    } catch {
      // process gone
    }
  }
  read()
  const timer = setInterval(read, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      read()
      return { maxMB: (maxKiB * 1024) / 1e6, hwmMB: (hwmKiB * 1024) / 1e6, samples }
    },
  }
}

/** VmRSS of process `pid` now, MB (10^6 bytes); NaN when /proc does not say. */
export function rssNowMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN
}
