import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa, type ResultPromise } from 'execa'

export interface PrivateDockerd {
  /** DOCKER_HOST and DOCKER_CONFIG for `docker` commands against this engine. */
  env: Record<string, string>
  stop(): Promise<void>
}

/**
 * A private Docker engine for a test: its own data, socket and pid file under `dir` (keep it short:
 * socket paths are limited to 108 bytes), no iptables and no bridge, vfs storage. Needs root.
 */
export async function startDockerd(dir: string): Promise<PrivateDockerd> {
  const socket = join(dir, 'docker.sock')
  const daemon: ResultPromise = execa(
    'dockerd',
    ['--storage-driver', 'vfs', '--iptables=false', '--bridge=none', '--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '-H', `unix://${socket}`],
    { reject: false, all: true, buffer: true },
  )
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'client') }
  for (let tries = 0; ; tries++) {
    if ((await execa('docker', ['version'], { env, reject: false })).exitCode === 0) break
    if (tries === 150 || daemon.exitCode !== null) {
      daemon.kill('SIGKILL')
      throw new Error(`dockerd did not start:\n${String((await daemon).all).slice(-2000)}`)
    }
    await sleep(200)
  }
  return {
    env,
    stop: async () => {
      daemon.kill('SIGTERM')
      await daemon
    },
  }
}

/** True when this process may start a Docker engine. */
export const canRunDockerd = process.getuid?.() === 0
