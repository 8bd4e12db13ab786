import { resolve } from 'node:path'
import { htpasswdOutside, readHtpasswd } from '../../access/htpasswd-file.js'
import { ReadPolicy, type AuthSettings } from '../../access/read-rules.js'
import { ZregError } from '../../errors.js'
import { globSource } from '../../oci/repository-glob.js'

/**
 * Which request paths need a login, as regular expressions over the decoded path the host matches
 * (nginx's `$uri`, Caddy's `{path}`, Apache's `REQUEST_URI`), in the syntax PCRE and RE2 share. They
 * carry out the rules of read-rules.ts as `zreg serve --auth` does, but for the catalog: a static file
 * cannot list only what a caller may read, so the catalog and its page need a login as soon as one
 * repository does.
 */
export interface LoginPaths {
  /** What every client must log in for: `/v2/` (so clients know to log in), the private repositories, and the catalog and page when anonymous clients may not read everything. */
  always: string
  /** With read `authenticated`: every repository's paths, but those of `except` (the public ones). */
  members?: { paths: string; except?: string }
  /**
   * Whether a containerd mirror request (`?ns=`) needs a login: while anything does. Which repository
   * such a request resolves to depends on which candidates exist, so its answer would tell an
   * anonymous client whether a private one does.
   */
  mirrors: boolean
}

/** What a host's own Basic auth needs (zreg server-config --auth). */
export interface HostAuth {
  /** The htpasswd file's absolute path: where nginx and Apache read it on the server. */
  htpasswd: string
  /** Its users and their bcrypt hashes, for a server that cannot read the file (Caddy). */
  users: ReadonlyMap<string, string>
  /** The realm clients are asked to log in to, as `zreg serve --auth` names it. */
  realm: string
  login: LoginPaths
}

/** A repository's paths: manifests, blobs, the tag list and referrers. */
const routes = '/(?:manifests|blobs|tags|referrers)/[^/]+$'

function repositories(globs: readonly string[]): string {
  return `^/v2/(?:${globs.map(globSource).join('|')})${routes}`
}

/** The paths `settings` close to anonymous clients (globs checked by ReadPolicy: USAGE for a bad one). */
export function loginPaths(settings: AuthSettings): LoginPaths {
  const policy = new ReadPolicy(settings)
  const always = ['^/v2/?$', '^/v2/index\\.html$']
  if (settings.private?.length) always.push(repositories(settings.private))
  // What lists or resolves across repositories tells of the private ones.
  const mirrors = !policy.anonymousReadsAll()
  if (mirrors) always.push('^/v2/_catalog$', '^/(?:index\\.html)?$')
  if (settings.read !== 'authenticated') return { always: always.join('|'), mirrors }
  return { always: always.join('|'), members: { paths: `^/v2/.+${routes}`, ...(settings.public?.length ? { except: repositories(settings.public) } : {}) }, mirrors }
}

/**
 * `settings` for a tree built at `tree` and deployed at `root` on the server: the htpasswd file read
 * here (readHtpasswd's errors), its absolute path named in the configuration. USAGE when it lies inside
 * the tree (here or as deployed, where the host would serve it), or holds a character a configuration
 * cannot quote.
 */
export async function hostAuth(settings: AuthSettings, tree: string, root: string): Promise<HostAuth> {
  const htpasswd = resolve(settings.htpasswd)
  await htpasswdOutside(settings.htpasswd, [tree, root])
  if (/["'`$;#{}%\\\s\x00-\x1f]/.test(htpasswd)) {
    throw new ZregError('USAGE', `the htpasswd file's path ${JSON.stringify(htpasswd)} holds a character a server configuration cannot quote safely (space, quote, $, %, ;, #, braces or backslash); move it to a plainer path`)
  }
  const login = loginPaths(settings)
  return { htpasswd, users: await readHtpasswd(htpasswd), realm: 'zreg', login }
}
