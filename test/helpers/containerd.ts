import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { tempDir } from './paths.js'

export interface Containerd {
  /** The daemon's socket, for `ctr --address`. */
  address: string
  /** `ctr images pull --hosts-dir` into a containerd namespace of its own; never throws on failure. */
  pull(reference: string, options: { hostsDir: string; namespace: string; user?: string }): Promise<{ exitCode: number; output: string }>
  /** The manifest digest of an image in a namespace, as `ctr images ls` shows it. */
  imageDigest(reference: string, namespace: string): Promise<string | undefined>
  stop(): Promise<void>
}

/**
 * A private containerd (Debian's `containerd`): its own root, state, socket and config under
 * test/.work, no CRI and no CNI, the native snapshotter, and content isolated per namespace so every
 * pull in a new namespace fetches every blob again.
 */
export async function startContainerd(): Promise<Containerd> {
  const dir = await tempDir('containerd')
  const address = join(dir, 'containerd.sock')
  const config = join(dir, 'config.toml')
  await writeFile(
    config,
    `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${address}"
[ttrpc]
  address = "${address}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"
`,
  )
  const daemon = execa('containerd', ['--config', config], { reject: false, stdin: 'ignore', all: true, buffer: false })
  let log = ''
  daemon.all?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const ctr = (args: string[]) => execa('ctr', ['--address', address, ...args], { reject: false, all: true, stdin: 'ignore' })
  const deadline = Date.now() + 15_000
  while ((await ctr(['version'])).exitCode !== 0) {
    if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`containerd did not start:\n${log}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    address,
    pull: async (reference, { hostsDir, namespace, user }) => {
      const result = await ctr(['--namespace', namespace, 'images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', ...(user === undefined ? [] : ['--user', user]), reference])
      return { exitCode: result.exitCode ?? -1, output: String(result.all) }
    },
    imageDigest: async (reference, namespace) => {
      const listed = String((await ctr(['--namespace', namespace, 'images', 'ls'])).stdout)
      const line = listed.split('\n').find((row) => row.split(/\s+/)[0] === reference)
      return /sha256:[a-f0-9]{64}/.exec(line ?? '')?.[0]
    },
    stop: async () => {
      daemon.kill('SIGTERM')
      await daemon
    },
  }
}

/**
 * A containerd `certs.d`-style hosts directory for `registry` (as `/etc/containerd/certs.d`): the
 * mirror at `mirror` for pull and resolve, then `upstream` as the registry's own server. With
 * `overridePath` the mirror URL includes the API root (`.../v2`), as for registries that serve it under
 * another path. Returns the directory to pass as `--hosts-dir`.
 */
export async function writeHostsDir(dir: string, registry: string, mirror: string, upstream: string, options: { overridePath?: boolean } = {}): Promise<string> {
  await mkdir(join(dir, registry), { recursive: true })
  const url = options.overridePath ? `${mirror}/v2` : mirror
  await writeFile(
    join(dir, registry, 'hosts.toml'),
    `server = "${upstream}"

[host."${url}"]
  capabilities = ["pull", "resolve"]${options.overridePath ? '\n  override_path = true' : ''}
`,
  )
  return dir
}
