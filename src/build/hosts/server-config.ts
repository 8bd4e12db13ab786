import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { treeHolding } from '../../access/inside-tree.js'
import type { AuthSettings } from '../../access/read-rules.js'
import { ZregError } from '../../errors.js'
import { makeDirectory, writeFileAtomic } from '../../store/atomic.js'
import { metaDir } from '../tree-paths.js'
import { hostAuth, type HostAuth } from './host-auth.js'
import type { HostConfig } from './host-kind.js'
import { hostKinds } from './host-kinds.js'

export interface ServerConfigOptions {
  /** A `hostKinds` name. */
  kind: string
  /** The built tree on this machine. */
  tree: string
  /** Where the tree is deployed on the server (absolute; default: the tree's own absolute path). */
  root?: string
  /** `PORT` or `HOST:PORT` (default 127.0.0.1:8080). */
  listen?: string
  /** A directory to write the files to (atomically, each file whole); none: the caller prints them. */
  output?: string
  /** Basic auth by the host itself: the htpasswd file (read here; the configuration names its absolute path) and who may read what. */
  auth?: AuthSettings
}

export interface ServerConfigResult extends HostConfig {
  kind: string
  root: string
  /** Where each file was written, with `output`. */
  written?: string[]
}

export const defaultListen = '127.0.0.1:8080'

/**
 * The configuration of a host kind for a built tree deployed at `root`. USAGE for an unknown kind (the
 * message lists the kinds), SITE_NOT_FOUND for a tree `zreg build` did not write. With `output`, the
 * files are written there (each through a temp file and a rename). With `auth`: hostAuth's errors, and
 * USAGE for a kind that cannot ask clients to log in, or an `output` inside the tree (here or as
 * deployed) for a configuration that holds the users, which is then written readable by its owner only.
 */
export async function serverConfig(options: ServerConfigOptions): Promise<ServerConfigResult> {
  const host = hostKinds[options.kind]
  if (host === undefined) {
    throw new ZregError('USAGE', `--for ${options.kind} is not a host kind zreg knows; use one of: ${Object.keys(hostKinds).join(', ')}`)
  }
  const tree = resolve(options.tree)
  if (!existsSync(join(tree, metaDir, 'site.json'))) {
    throw new ZregError('SITE_NOT_FOUND', `${options.tree} is not a tree written by \`zreg build\` (it has no ${metaDir}/site.json); run \`zreg build --out ${options.tree}\` first`)
  }
  const root = options.root ?? tree
  let auth: HostAuth | undefined
  if (options.auth) {
    if (host.withoutAuth) throw new ZregError('USAGE', `--for ${host.name} cannot take --auth: ${host.withoutAuth}`)
    auth = await hostAuth(options.auth, tree, root)
  }
  const config = await host.configure({ root, listen: options.listen ?? defaultListen, tree, ...(auth ? { auth } : {}) })
  if (config.holdsUsers && options.output !== undefined) {
    const holder = await treeHolding(options.output, [tree, root])
    if (holder !== undefined) {
      throw new ZregError('USAGE', `--output ${options.output} is inside the tree (${holder}), and the ${host.name} configuration holds the users' password hashes: a copy of the tree would publish them; write it elsewhere`)
    }
  }
  const result: ServerConfigResult = { kind: host.name, root, ...config }
  if (options.output === undefined) return result
  const written: string[] = []
  for (const file of config.files) {
    const path = resolve(options.output, file.name)
    await makeDirectory(dirname(path))
    // Password hashes are for the server's eyes (and root's) only.
    await writeFileAtomic(path, file.contents, config.holdsUsers ? { mode: 0o600 } : {})
    written.push(path)
  }
  return { ...result, written }
}
