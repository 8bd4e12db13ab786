import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { jwtVerify, SignJWT } from 'jose'
import { ZregError } from '../../errors.js'
import type { Htpasswd } from './htpasswd.js'

export type Action = 'pull' | 'push'

export interface AccessOptions {
  users: Htpasswd
  /** `anonymous`: anyone may pull; `authenticated`: pulls need credentials too (default anonymous). */
  read?: 'anonymous' | 'authenticated'
  /**
   * User -> repository prefixes the user may push to (`team/`, `docker.io/`); `*` for any user.
   * Without it every authenticated user may push anywhere.
   */
  writers?: Record<string, string[]>
  /** Signs tokens; a random one per process when absent (tokens then end with the process). */
  tokenSecret?: string
  /** Token lifetime (default 300 s). */
  tokenSeconds?: number
}

/** Who is asking: a user (Basic or token), and for a token what it grants. */
interface Identity {
  user?: string
  grants?: { name: string; actions: string[] }[]
}

const service = 'zreg'
const issuer = 'zreg'

/** `repository:<name>:<actions>` scopes of a token request. */
function parseScopes(values: string[]): { name: string; actions: Action[] }[] {
  return values.flatMap((value) =>
    value.split(' ').flatMap((scope) => {
      const match = /^repository:(.+):([a-z*,]+)$/.exec(scope)
      if (!match) return []
      const actions = match[2]!.split(',').flatMap((action) => (action === '*' ? ['pull', 'push'] : [action])) as Action[]
      return [{ name: match[1]!, actions }]
    }),
  )
}

/**
 * Access control for push mode: Basic auth against an htpasswd file, and the Docker token flow (a
 * `WWW-Authenticate: Bearer` challenge, a token endpoint, signed JWTs naming the repositories and
 * actions they grant) as docker and podman expect. A token for one repository grants nothing on another.
 */
export class AccessControl {
  private readonly secret: Uint8Array

  constructor(private readonly options: AccessOptions) {
    this.secret = options.tokenSecret ? new TextEncoder().encode(options.tokenSecret) : randomBytes(32)
  }

  private realm(req: IncomingMessage): string {
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
    return `${scheme}://${req.headers.host ?? 'localhost'}/token`
  }

  /** The 401 a client follows to the token endpoint. */
  challenge(req: IncomingMessage, res: ServerResponse, scope?: string): ZregError {
    const parts = [`realm="${this.realm(req)}"`, `service="${service}"`, ...(scope ? [`scope="${scope}"`] : [])]
    res.setHeader('WWW-Authenticate', `Bearer ${parts.join(',')}`)
    return new ZregError('UNAUTHORIZED', 'authentication required', { detail: scope ? [{ Type: 'repository', Name: scope.split(':')[1], Action: scope.split(':')[2] }] : undefined })
  }

  private async basicUser(header: string): Promise<string | undefined> {
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const user = decoded.slice(0, colon)
    return colon > 0 && (await this.options.users.verify(user, decoded.slice(colon + 1))) ? user : undefined
  }

  /** Reads the request's credentials; wrong ones are an error, none is an anonymous identity. */
  private async identify(req: IncomingMessage): Promise<Identity | undefined> {
    const header = req.headers.authorization
    if (header === undefined) return {}
    if (header.startsWith('Basic ')) {
      const user = await this.basicUser(header)
      return user === undefined ? undefined : { user }
    }
    if (header.startsWith('Bearer ')) {
      try {
        const { payload } = await jwtVerify(header.slice('Bearer '.length), this.secret, { issuer, audience: service })
        return { ...(typeof payload.sub === 'string' && payload.sub !== '' ? { user: payload.sub } : {}), grants: (payload.access as Identity['grants']) ?? [] }
      } catch {
        return undefined
      }
    }
    return undefined
  }

  /** Whether `user` (undefined: anonymous) may do `action` on `name`. */
  private permits(user: string | undefined, name: string, action: Action): boolean {
    if (action === 'pull') return this.options.read !== 'authenticated' || user !== undefined
    if (user === undefined) return false
    const writers = this.options.writers
    if (writers === undefined) return true
    return [...(writers[user] ?? []), ...(writers['*'] ?? [])].some((prefix) => prefix === '*' || name === prefix || name.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))
  }

  /**
   * Lets the request through, or throws UNAUTHORIZED with the challenge set. `name` is '' for the /v2/
   * ping and undefined for other requests that name no repository (the catalog).
   */
  async check(req: IncomingMessage, res: ServerResponse, name: string | undefined, action: Action): Promise<void> {
    const identity = await this.identify(req)
    const scope = name === undefined ? undefined : `repository:${name}:${action === 'push' ? 'pull,push' : 'pull'}`
    if (identity === undefined) throw this.challenge(req, res, scope)
    if (name === undefined) {
      if (this.options.read === 'authenticated' && identity.user === undefined && identity.grants === undefined) throw this.challenge(req, res)
      return
    }
    if (name === '') {
      // The /v2/ ping: clients learn here how to authenticate (containers/image never follows a later
      // challenge when the ping succeeded), so an anonymous one is always challenged; anonymous pulls
      // then take an anonymous token from the token endpoint.
      if (identity.user === undefined && identity.grants === undefined) throw this.challenge(req, res)
      return
    }
    if (!this.grants(identity, name, action)) throw this.challenge(req, res, scope)
  }

  private grants(identity: Identity, name: string, action: Action): boolean {
    return identity.grants
      ? identity.grants.some((grant) => grant.name === name && grant.actions.includes(action))
      : this.permits(identity.user, name, action)
  }

  /** Whether the request may do `action` on `name`, without answering it (a mount's `from`). */
  async allows(req: IncomingMessage, name: string, action: Action): Promise<boolean> {
    const identity = await this.identify(req)
    return identity !== undefined && this.grants(identity, name, action)
  }

  /** GET /token: a JWT for the scopes asked, cut down to what the (Basic-authenticated) user may do. */
  async issueToken(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const header = req.headers.authorization
    let user: string | undefined
    if (header !== undefined) {
      user = header.startsWith('Basic ') ? await this.basicUser(header) : undefined
      if (user === undefined) {
        res.setHeader('WWW-Authenticate', `Basic realm="${service}"`)
        throw new ZregError('UNAUTHORIZED', 'wrong user name or password')
      }
    }
    const access = parseScopes(query.getAll('scope'))
      .map(({ name, actions }) => ({ type: 'repository', name, actions: actions.filter((action) => this.permits(user, name, action)) }))
      .filter((grant) => grant.actions.length > 0)
    const seconds = this.options.tokenSeconds ?? 300
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(service)
      .setSubject(user ?? '')
      .setIssuedAt()
      .setExpirationTime(`${seconds}s`)
      .sign(this.secret)
    const body = JSON.stringify({ token, access_token: token, expires_in: seconds, issued_at: new Date().toISOString() })
    res.statusCode = 200
    res.setHeader('Content-Type', 'application/json')
    res.setHeader('Content-Length', Buffer.byteLength(body))
    res.end(body)
  }
}
