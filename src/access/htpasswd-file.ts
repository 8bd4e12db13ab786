import { readFile } from 'node:fs/promises'
import { systemError, ZregError } from '../errors.js'
import { treeHolding } from './inside-tree.js'

/**
 * The users of an htpasswd file and their bcrypt hashes (`user:$2y$...`, as `htpasswd -B` writes them;
 * blank lines and `#` comments skipped). bcrypt is the one scheme zreg serve, push mode, nginx (with
 * libxcrypt's crypt), Caddy and Apache all check. Errors: the file's own (NOT_FOUND, ...) when it cannot
 * be read; HTPASSWD_INVALID naming the line that is no bcrypt entry or names a user again, or for a
 * file with no user, which would lock everyone out of what it protects.
 */
export async function readHtpasswd(path: string): Promise<Map<string, string>> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw systemError(error, path, 'the htpasswd file of --auth or auth.htpasswd') ?? new ZregError('HTPASSWD_INVALID', `cannot read the htpasswd file ${path}: ${error.message}`)
  })
  const users = new Map<string, string>()
  const lines = new Map<string, number>()
  for (const [i, line] of text.split('\n').entries()) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const colon = trimmed.indexOf(':')
    const hash = trimmed.slice(colon + 1)
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new ZregError('HTPASSWD_INVALID', `${path}:${i + 1} is not a bcrypt entry; write the file with htpasswd -B`)
    }
    const user = trimmed.slice(0, colon)
    // nginx and Apache take a user's first line, Caddy its last: refused, so all agree.
    if (lines.has(user)) throw new ZregError('HTPASSWD_INVALID', `${path}:${i + 1} names ${user}, whom line ${lines.get(user)} names already; keep one line per user`)
    lines.set(user, i + 1)
    users.set(user, hash)
  }
  if (users.size === 0) throw new ZregError('HTPASSWD_INVALID', `the htpasswd file ${path} holds no user, so nobody could log in; add one with htpasswd -B ${path} USER`)
  return users
}

/**
 * USAGE when the htpasswd file at `htpasswd` lies inside one of `trees` (treeHolding: links resolved),
 * where a copy of the tree or a server of it would hand it out.
 */
export async function htpasswdOutside(htpasswd: string, trees: string[]): Promise<void> {
  const tree = await treeHolding(htpasswd, trees)
  if (tree !== undefined) throw new ZregError('USAGE', `the htpasswd file ${htpasswd} is inside the tree it protects (${tree}), where a copy of the tree or a server of it would hand it out; keep it outside`)
}
