import { createHmac, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import bcrypt from 'bcryptjs'
import { systemError, ZregError } from '../../errors.js'

/** The user and password of an `Authorization: Basic ...` header (RFC 7617); undefined for another scheme or no colon. */
export function basicCredentials(header: string): { user: string; password: string } | undefined {
  if (!header.startsWith('Basic ')) return undefined
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Users and their bcrypt hashes, as `htpasswd -B` writes them (`user:$2y$...`). */
export class Htpasswd {
  /**
   * Credentials verified, as an HMAC of user and password under a key of this process: a bcrypt check
   * costs 50-100 ms, and a client logged in with Basic sends its credentials with every request.
   */
  private readonly verified = new Set<string>()
  private readonly key = randomBytes(32)

  private constructor(private readonly users: Map<string, string>) {}

  static async load(path: string): Promise<Htpasswd> {
    const text = await readFile(path, 'utf8').catch((error: Error) => {
      throw systemError(error, path, 'the htpasswd file of --auth or auth.htpasswd') ?? new ZregError('CONFIG_FILE_INVALID', `cannot read the htpasswd file ${path}: ${error.message}`)
    })
    const users = new Map<string, string>()
    for (const [i, line] of text.split('\n').entries()) {
      const trimmed = line.trim()
      if (trimmed === '' || trimmed.startsWith('#')) continue
      const colon = trimmed.indexOf(':')
      const hash = trimmed.slice(colon + 1)
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
        throw new ZregError('CONFIG_FILE_INVALID', `${path}:${i + 1} is not a bcrypt entry; write the file with htpasswd -B`)
      }
      users.set(trimmed.slice(0, colon), hash)
    }
    return new Htpasswd(users)
  }

  /** True when `user` exists and `password` matches its hash. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user)
    if (hash === undefined) return false
    const seen = createHmac('sha256', this.key).update(`${user}\0${password}`).digest('base64')
    if (this.verified.has(seen)) return true
    if (!(await bcrypt.compare(password, hash))) return false
    // Bounded: a flood of distinct good credentials only costs their bcrypt checks again.
    if (this.verified.size >= 1024) this.verified.clear()
    this.verified.add(seen)
    return true
  }
}
