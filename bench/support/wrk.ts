import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dataDir } from '../paths.js'
import { run } from './children.js'

/** The Lua script that makes wrk print one machine-readable summary line. */
const reportScript = join(dataDir, 'wrk-report.lua')
const reportPrefix = 'ZREG_BENCH '

/** Writes the report script wrk() loads; call once before the first wrk(). */
export function writeWrkScript(): void {
  writeFileSync(
    reportScript,
    `-- written by bench/support/wrk.ts: machine-readable summary
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${reportPrefix}{"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`,
  )
}

/** wrk's error counters: socket errors by kind, and non-2xx/3xx answers (`status`). */
export interface WrkErrors {
  connect: number
  read: number
  write: number
  status: number
  timeout: number
}

/** One wrk run, as results.json records it. */
export interface WrkResult {
  requests: number
  /** Response bytes received, headers included. */
  bytes: number
  durationS: number
  rps: number
  /** bytes / duration / 10^6. */
  MBps: number
  /** The sum of errorDetail. */
  errors: number
  errorDetail: WrkErrors
  p50ms: number
  p99ms: number
  /** Max VmRSS of zreg serve during the run, MB (10^6 bytes), where sampled. */
  rssMaxMB?: number
}

interface WrkReport extends WrkErrors {
  requests: number
  bytes: number
  duration_us: number
  p50_us: number
  p99_us: number
}

/** `wrk -t1 -cN -dS` on `url` with the report script; `headers` as `Name: value` lines. */
export async function wrk(url: string, options: { connections: number; seconds: number; headers?: string[] }): Promise<WrkResult> {
  const { connections, seconds, headers = [] } = options
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', reportScript]
  for (const h of headers) args.push('-H', h)
  args.push(url)
  const r = await run('wrk', args, { timeoutMs: (seconds + 60) * 1000 })
  const line = r.stdout.split('\n').find((l) => l.startsWith(reportPrefix))
  if (!line) throw new Error(`wrk printed no summary:\n${r.stdout}\n${r.stderr}`)
  const s = JSON.parse(line.slice(reportPrefix.length)) as WrkReport
  const durationS = s.duration_us / 1e6
  const errors = s.connect + s.read + s.write + s.status + s.timeout
  return {
    requests: s.requests,
    bytes: s.bytes,
    durationS,
    rps: s.requests / durationS,
    MBps: s.bytes / durationS / 1e6,
    errors,
    errorDetail: { connect: s.connect, read: s.read, write: s.write, status: s.status, timeout: s.timeout },
    p50ms: s.p50_us / 1000,
    p99ms: s.p99_us / 1000,
  }
}
