import { run } from './children.js'

export interface MeasuredRun {
  seconds: number
  /** The kernel's maximum resident set of the command, MB (10^6 bytes): no sampling gaps. */
  peakRssMB: number
  code: number | null
  stdout: string
  /** The command's own stderr, without /usr/bin/time's lines. */
  stderr: string
}

/**
 * Runs a command under /usr/bin/time: wall time and the peak RSS the kernel recorded (no polling gaps).
 * With allowFail, a non-zero exit is returned (code, and the command's own stderr without time's lines).
 */
export async function runMeasured(cmd: string, args: readonly string[], options: { allowFail?: boolean } = {}): Promise<MeasuredRun> {
  const r = await run('/usr/bin/time', ['-f', 'maxrss-kib=%M', cmd, ...args], { timeoutMs: 900000, allowFail: options.allowFail ?? false })
  const kib = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1])
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/^maxrss-kib=\d+$/.test(l) && !l.startsWith('Command exited with non-zero status'))
    .join('\n')
    .trim()
  return { seconds: r.ms / 1000, peakRssMB: (kib * 1024) / 1e6, code: r.code, stdout: r.stdout, stderr }
}
