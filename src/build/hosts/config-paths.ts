import { isAbsolute, join, normalize } from 'node:path'
import { ZregError } from '../../errors.js'
import { buildsDir, metaDir } from '../tree-paths.js'

/** The paths of a tree deployed at `root` on the server, as a generated configuration names them. */
export interface DeployedPaths {
  root: string
  /** The live generation's metadata (`root/.zreg`, a link swapped by each build). */
  meta: string
  /** Every repository's directory (`root/.zreg-builds/objects/<key>`). */
  objects: string
}

/**
 * `root` checked for use inside a configuration file: absolute, and free of what would end or escape
 * a quoted word in nginx, Caddy or Apache syntax (quotes, `$`, braces, `;`, `#`, control characters).
 * USAGE error otherwise.
 */
export function deployedPaths(root: string): DeployedPaths {
  if (!isAbsolute(root)) throw new ZregError('USAGE', `--root ${root} is not an absolute path; give the directory the tree is deployed at on the server, e.g. /srv/registry`)
  if (/["'`$;#{}\\\s\x00-\x1f]/.test(root)) {
    throw new ZregError('USAGE', `--root ${JSON.stringify(root)} holds a character a server configuration cannot quote safely (space, quote, $, ;, #, braces or backslash); deploy the tree at a plainer path`)
  }
  const clean = normalize(root).replace(/(.)\/$/, '$1')
  return { root: clean, meta: join(clean, metaDir), objects: join(clean, buildsDir, 'objects') }
}

/** `listen` as a host and a port: `PORT`, `HOST:PORT` or `[IPV6]:PORT`. USAGE error otherwise. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(listen)
  const port = Number(match?.[2])
  if (!match || port < 1 || port > 65535) throw new ZregError('USAGE', `--listen ${listen} is not PORT or HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:80, [::1]:8080)`)
  return { host: match[1] ?? '0.0.0.0', port }
}
