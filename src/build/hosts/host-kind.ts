import type { HostAuth } from './host-auth.js'

/**
 * A kind of web server or host the tree can be deployed to, and the configuration `zreg server-config`
 * generates for it (issue #9). A configuration is made for a tree deployed at `root` on the server:
 * it names no path of the machine that built the tree. What changes with each build (Content-Type and
 * Docker-Content-Digest of each manifest, the repository directories) lives in files inside the tree
 * that the configuration includes from `root` wherever the server allows it.
 */
export interface HostConfigOptions {
  /** The absolute path the tree is deployed at on the server (default: the tree itself). */
  root: string
  /** Where a complete configuration listens: `PORT` or `HOST:PORT` (default 127.0.0.1:8080). */
  listen: string
  /** The built tree to read (its `.zreg/site.json` and the `.headers.json` files), on this machine. */
  tree: string
  /** The host's own Basic auth, when asked (zreg server-config --auth); only for kinds without `withoutAuth`. */
  auth?: HostAuth
}

/** One file of a configuration: `name` is where `--output DIR` writes it, relative to DIR. */
export interface HostConfigFile {
  name: string
  contents: string
}

export interface HostConfig {
  files: HostConfigFile[]
  /** The files hold the users' password hashes (Caddy with --auth): they must not be written into the tree. */
  holdsUsers?: boolean
  /** How to start the server with it, and whether a rebuild of the tree needs a reload. */
  usage: string
}

export interface HostKind {
  /** The `--for` value: nginx, caddy, apache, htaccess, netlify, s3. */
  name: string
  /** One line for --help. */
  summary: string
  /** Why the kind cannot ask clients to log in, for those that cannot: what --auth is told. */
  withoutAuth?: string
  configure(options: HostConfigOptions): Promise<HostConfig>
}
