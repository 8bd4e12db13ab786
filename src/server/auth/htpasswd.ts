import { createHmac, randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import bcrypt from 'bcryptjs'
import { readHtpasswd } from '../../access/htpasswd-file.js'

export interface HtpasswdOptions {
  /** How long a reading of the file is trusted before its stat is checked again (ms; default 1000). */
  recheckMs?: number
  /** Where a file that turned invalid is reported (default console.error). */
  log?: (line: string) => void
}

/**
 * Users and their bcrypt hashes, as `htpasswd -B` writes them (`user:$2y$...`), kept in step with the
 * file: as nginx and Apache read it at each request, a user added, removed or given a new password
 * counts within `recheckMs`, without a restart. A file that turns unreadable or invalid lets nobody in
 * until it is fixed (the reason is logged): a revocation half written must not leave the old users in.
 */
export class Htpasswd {
  /**
   * Credentials verified, as an HMAC of user and password under a key of this process: a bcrypt check
   * costs 50-100 ms, and a client logged in with Basic sends its credentials with every request.
   * Emptied whenever the file changes.
   */
  private readonly verified = new Set<string>()
  private readonly key = randomBytes(32)
  private checkedAt = Date.now()
  private checking: Promise<void> | undefined

  private constructor(
    private readonly path: string,
    private users: Map<string, string>,
    private version: string,
    private readonly options: HtpasswdOptions,
  ) {}

  /** The users of the htpasswd file at `path`: readHtpasswd's errors. */
  static async load(path: string, options: HtpasswdOptions = {}): Promise<Htpasswd> {
    const version = await fileVersion(path)
    return new Htpasswd(path, await readHtpasswd(path), version, options)
  }

  /** True when `user` exists and `password` matches its hash, in the file as it is now. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = (await this.current()).get(user)
    if (hash === undefined) return false
    // Keyed by the hash too: a check that ends after the file changed vouches only for the old hash.
    const seen = createHmac('sha256', this.key).update(`${user}\0${hash}\0${password}`).digest('base64')
    if (this.verified.has(seen)) return true
    if (!(await bcrypt.compare(password, hash))) return false
    // Bounded: a flood of distinct good credentials only costs their bcrypt checks again.
    if (this.verified.size >= 1024) this.verified.clear()
    this.verified.add(seen)
    return true
  }

  private async current(): Promise<Map<string, string>> {
    if (Date.now() - this.checkedAt >= (this.options.recheckMs ?? 1000)) {
      // One stat at a time, however many requests wait on it.
      this.checking ??= this.recheck().finally(() => (this.checking = undefined))
      await this.checking
    }
    return this.users
  }

  private async recheck(): Promise<void> {
    this.checkedAt = Date.now()
    const version = await fileVersion(this.path)
    if (version === this.version) return
    this.version = version
    this.verified.clear()
    try {
      this.users = await readHtpasswd(this.path)
    } catch (error) {
      this.users = new Map()
      ;(this.options.log ?? console.error)(`zreg: nobody can log in until the htpasswd file is fixed: ${(error as Error).message}`)
    }
  }
}

/** What changes when the file is written or replaced; "" for a file that is not there. */
async function fileVersion(path: string): Promise<string> {
  const stats = await stat(path, { bigint: true }).catch(() => undefined)
  return stats === undefined ? '' : `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`
}
