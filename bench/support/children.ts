import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { repoRoot } from '../paths.js'
import { log } from './log.js'

/** Every child the benchmark started and that has not exited: nothing may outlive the benchmark. */
const live = new Set<ChildProcess>()

/** Registers `child` so that stopChildren() reaches it until it exits. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

/** Signals every child still running (synchronous: it runs from the process's exit handler too). */
export function stopChildren(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of live) {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/** Stops every child when the benchmark exits, also on Ctrl-C, SIGTERM or SIGHUP. Call once, from the entry. */
export function stopChildrenOnExit(): void {
  process.on('exit', () => stopChildren('SIGTERM'))
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping everything started by the benchmark`)
      stopChildren('SIGTERM')
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
  }
}

export interface RunOptions {
  /** Default: the repository's root. */
  cwd?: string
  /** SIGKILL after this long. */
  timeoutMs?: number
  /** Resolve on a non-zero exit instead of rejecting. */
  allowFail?: boolean
  /** Added to the benchmark's environment, or (fullEnv) the whole environment. */
  env?: NodeJS.ProcessEnv
  /** `env` is the whole environment: a client that must not see the machine's AWS_* variables. */
  fullEnv?: boolean
  /** A file given as stdin (default: none). */
  stdinFile?: string
  /** Called with the child's process id once it is started (to sample its memory). */
  onSpawn?: (pid: number) => void
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit, milliseconds. */
  ms: number
}

/** A command that exited non-zero; `result` has its output. */
export class CommandFailedError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message)
  }
}

/** Runs a command to completion; rejects on a non-zero exit unless allowFail. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { cwd = repoRoot, timeoutMs, allowFail = false, env, fullEnv = false, stdinFile, onSpawn } = options
  return new Promise((resolvePromise, reject) => {
    const started = performance.now()
    const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore'
    const child = track(spawn(cmd, args, { cwd, env: env ? (fullEnv ? env : { ...process.env, ...env }) : process.env, stdio: [stdin, 'pipe', 'pipe'] }))
    if (typeof stdin === 'number') closeSync(stdin)
    if (child.pid !== undefined) onSpawn?.(child.pid)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const result: RunResult = { code, signal, stdout, stderr, ms: performance.now() - started }
      if (code !== 0 && !allowFail) reject(new CommandFailedError(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${(stderr || stdout).slice(-2000)}`, result))
      else resolvePromise(result)
    })
  })
}
