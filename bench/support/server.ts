import type { ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { track } from './children.js'
import { log } from './log.js'

/**
 * A long-running server child (zreg serve, nginx, distribution, ...): its output's tail kept for
 * diagnostics, stopped with SIGTERM then SIGKILL.
 */
export class Server {
  readonly child: ChildProcess
  /** The last 20,000 characters of its stdout and stderr. */
  output = ''
  /** The loopback port it answers on, once known. */
  port = 0
  hasExited = false
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly afterStop: (() => void)[] = []

  constructor(
    readonly name: string,
    child: ChildProcess,
  ) {
    this.child = track(child)
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    void this.exited.then(() => (this.hasExited = true))
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }

  get pid(): number {
    return this.child.pid ?? 0
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Runs `action` after every later stop() (a server on a store of its own removes the store). */
  onStop(action: () => void): void {
    this.afterStop.push(action)
  }

  async stop(): Promise<void> {
    if (!this.hasExited) {
      this.child.kill('SIGTERM')
      const done = await Promise.race([this.exited, sleep(5000).then(() => undefined)])
      if (done === undefined) {
        log(`${this.name} did not stop on SIGTERM within 5 s; killing`)
        this.child.kill('SIGKILL')
        await this.exited
      }
    }
    for (const action of this.afterStop) action()
  }

  /** Waits until /v2/ answers 200 on `port`, which becomes the server's; resolves to the server. */
  async readyOn(port: number): Promise<this> {
    this.port = port
    await this.waitReady(port)
    return this
  }

  async waitReady(port: number, timeoutMs = 20000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (this.hasExited) throw new Error(`${this.name} exited while starting:\n${this.output}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    throw new Error(`${this.name} not ready on port ${port} after ${timeoutMs} ms:\n${this.output}`)
  }
}
