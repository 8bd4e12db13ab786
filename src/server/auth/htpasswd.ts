import { createHmac, randomBytes } from 'node:crypto'
import bcrypt from 'bcryptjs'
import { readHtpasswd } from '../../access/htpasswd-file.js'

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

  /** The users of the htpasswd file at `path`: readHtpasswd's errors. */
  static async load(path: string): Promise<Htpasswd> {
    return new Htpasswd(await readHtpasswd(path))
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
