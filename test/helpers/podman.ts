import { join } from 'node:path'
import { execa } from 'execa'

/**
 * podman with its own storage under `dir` (vfs: no kernel overlay support needed, as on a CI box);
 * `dir` must be short, as podman refuses a run root of over 50 characters. `registries`: the only
 * registries.conf it reads.
 */
export function podman(dir: string, options: { registries?: string } = {}) {
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs']
  const env = options.registries === undefined ? {} : { env: { CONTAINERS_REGISTRIES_CONF: options.registries } }
  return (args: string[]) => execa('podman', [...base, ...args], { reject: false, timeout: 120_000, ...env })
}
