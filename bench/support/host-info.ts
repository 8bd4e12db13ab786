import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** The machine's CPU time counters (/proc/stat, all CPUs, in clock ticks). */
export interface CpuTimes {
  total: number
  steal: number
}

/** The counters now, or undefined off Linux. */
export function cpuTimes(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 }
  } catch {
    return undefined
  }
}

/**
 * The share of CPU time (percent) the hypervisor took between two readings: on a shared VM, a run with
 * much stolen time measures the neighbours as much as the servers (ratios hold better than absolute figures).
 */
export function stealPercent(start: CpuTimes | undefined, end: CpuTimes | undefined): number | undefined {
  if (!start || !end || end.total <= start.total) return undefined
  return ((end.steal - start.steal) / (end.total - start.total)) * 100
}

/** The first line each tool prints about its version ('?' when it prints nothing). */
export function toolVersions(): Record<string, string> {
  const v = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim())?.trim() ?? '?'
  }
  return {
    node: process.version,
    nginx: v('nginx', ['-v']),
    distribution: v('docker-registry', ['--version']),
    wrk: v('wrk', ['--version']),
    skopeo: v('skopeo', ['--version']),
    rclone: v('rclone', ['--version']),
    curl: v('curl', ['--version']),
  }
}
