import { matchesAny, repositoryGlob, type RepositoryGlob } from '../oci/repository-glob.js'

/** Who may pull what: everyone or users only by default, with repository globs opened or closed whatever the default. */
export interface ReadRules {
  /** `anonymous`: anyone may pull; `authenticated`: pulls need credentials (default anonymous). */
  read?: 'anonymous' | 'authenticated'
  /** Repositories anyone may pull, even with read `authenticated` (repository-glob.ts). */
  public?: readonly string[]
  /** Repositories only authenticated users may pull, even with read `anonymous`; they win over `public`. */
  private?: readonly string[]
}

/** What --auth, --read, --public and --private say: the htpasswd file and the rules, as JSON (another process applies them). */
export interface AuthSettings extends ReadRules {
  htpasswd: string
  read: 'anonymous' | 'authenticated'
}

/** ReadRules compiled: what push mode and `zreg serve --auth` ask of every read. */
export class ReadPolicy {
  private readonly public: RepositoryGlob[]
  private readonly private: RepositoryGlob[]

  /** USAGE for a glob that cannot match a repository name. */
  constructor(private readonly rules: ReadRules) {
    this.public = (rules.public ?? []).map((glob) => repositoryGlob(glob, 'a public repository glob'))
    this.private = (rules.private ?? []).map((glob) => repositoryGlob(glob, 'a private repository glob'))
  }

  /** Whether `user` (undefined: anonymous) may pull from `name`: any user may pull anything. */
  mayRead(user: string | undefined, name: string): boolean {
    if (user !== undefined) return true
    if (matchesAny(this.private, name)) return false
    return this.rules.read === 'authenticated' ? matchesAny(this.public, name) : true
  }

  /** Whether anonymous callers may read some repository (then they may list what they may read). */
  anonymousReadsAny(): boolean {
    return this.rules.read !== 'authenticated' || this.public.length > 0
  }

  /** Whether anonymous callers may read every repository (then the catalog page, which lists them all, is theirs too). */
  anonymousReadsAll(): boolean {
    return this.rules.read !== 'authenticated' && this.private.length === 0
  }
}
