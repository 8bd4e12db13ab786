import { readFile } from 'node:fs/promises'
import { systemError, ZregError } from '../errors.js'

/**
 * The users of an htpasswd file and their bcrypt hashes (`user:$2y$...`, as `htpasswd -B` writes them;
 * blank lines and `#` comments skipped). bcrypt is the one scheme zreg serve, push mode, nginx (with
 * libxcrypt's crypt), Caddy and Apache all check. Errors: the file's own (NOT_FOUND, ...) when it cannot
 * be read, CONFIG_FILE_INVALID naming the line that is no bcrypt entry.
 */
export async function readHtpasswd(path: string): Promise<Map<string, string>> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw systemError(error, path, 'the htpasswd file of --auth or auth.htpasswd') ?? new ZregError('CONFIG_FILE_INVALID', `cannot read the htpasswd file ${path}: ${error.message}`)
  })
  const users = new Map<string, string>()
  for (const [i, line] of text.split('\n').entries()) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const colon = trimmed.indexOf(':')
    const hash = trimmed.slice(colon + 1)
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new ZregError('CONFIG_FILE_INVALID', `${path}:${i + 1} is not a bcrypt entry; write the file with htpasswd -B`)
    }
    users.set(trimmed.slice(0, colon), hash)
  }
  return users
}
