import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { repoRoot, zregBin } from '../paths.js'
import { log } from '../support/log.js'
import { Server } from '../support/server.js'

/** `npm run build` starts with rm -rf dist: wait for a rebuild in progress rather than fail. */
export async function waitForDist(): Promise<void> {
  const needed = ['index.js', 'commands/serve.js', 'commands/build.js', 'commands/add.js', 'commands/push.js'].map((f) => join(repoRoot, 'dist', 'src', f))
  const deadline = performance.now() + 180000
  let warned = false
  while (!needed.every((f) => existsSync(f))) {
    if (performance.now() > deadline) throw new Error('dist/ is missing: run npm run build')
    if (!warned) log('dist/ is incomplete (a build in progress?); waiting for it')
    warned = true
    await sleep(1000)
  }
  if (warned) await sleep(2000)
}

/** Starts `bin/run.js ARGS...` (serve or push) as a user would, which reports `(port N)` on stderr; waits until /v2/ answers. */
export async function startZregProcess(name: string, args: string[]): Promise<Server> {
  await waitForDist()
  const child = spawn(zregBin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const server = new Server(name, child)
  const port = await new Promise<number>((resolvePort, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not report its port:\n${text}`)), 20000)
    const onData = (d: Buffer) => {
      text += d.toString()
      const m = /\(port (\d+)\)/.exec(text)
      if (m) {
        clearTimeout(timer)
        child.stderr.off('data', onData)
        resolvePort(Number(m[1]))
      }
    }
    child.stderr.on('data', onData)
    void server.exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`${name} exited while starting:\n${text}`))
    })
  })
  return server.readyOn(port)
}

/** `zreg serve SITE` on a free port (a worker per core, its default, unless `extra` says otherwise). */
export function startZregServe(site: string, options: { name?: string; extra?: string[] } = {}): Promise<Server> {
  return startZregProcess(options.name ?? 'zreg serve', ['serve', site, '--port', '0', '--no-access-log', ...(options.extra ?? [])])
}

/** zreg push mode (dev registry) on a store and tree of its own. */
export function startZregPush(store: string, out: string): Promise<Server> {
  return startZregProcess('zreg push', ['push', '--store', store, '--out', out, '--port', '0', '--no-access-log'])
}
