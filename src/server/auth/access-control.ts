import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { jwtVerify, SignJWT } from 'jose'
import { ZregError } from '../../errors.js'
import { authorizationParameter, basicCredentials } from './authorization-header.js'
import type { Htpasswd } from './htpasswd.js'
import { ReadPolicy, type ReadRules } from '../../access/read-rules.js'
import type { Action, Caller, RequiredAccess, RouteGuard } from './route-access.js'

export interface AccessOptions extends ReadRules {
  users: Htpasswd
  /**
   * User -> repository prefixes the user may push to and delete from (`team/`, `docker.io/`); `*` for
   * any user. Without it every authenticated user may push anywhere.
   */
  writers?: Record<string, string[]>
  /** Signs tokens; a random one per process when absent (tokens then end with the process). */
  tokenSecret?: string
  /** Token lifetime (default 300 s). */
  tokenSeconds?: number
}

/** What a token grants: distribution's `access` claim entries (`repository` NAME actions, or `registry` `catalog` `*`). */
interface Grant {
  type: string
  name: string
  actions: string[]
}

/** Who is asking: a user (Basic or token; none: anonymous), and for a token what it grants. */
interface Identity {
  user?: string
  grants?: Grant[]
}

const service = 'zreg'
const issuer = 'zreg'
const catalogScope = 'registry:catalog:*'

/** The grants a token request asks for: `repository:<name>:<actions>` (`*` is every action) and `registry:catalog:*`. */
function parseScopes(values: string[]): Grant[] {
  return values.flatMap((value) =>
    value.split(' ').flatMap((scope): Grant[] => {
      if (scope === catalogScope) return [{ type: 'registry', name: 'catalog', actions: ['*'] }]
      const match = /^repository:(.+):([a-z*,]+)$/.exec(scope)
      if (!match) return []
      const actions = match[2]!.split(',').flatMap((action) => (action === '*' ? ['pull', 'push', 'delete'] : [action]))
      return [{ type: 'repository', name: match[1]!, actions }]
    }),
  )
}

/** The scope a client needs for `required`, as a challenge names it. */
function scopeOf(required: RequiredAccess): string | undefined {
  if (required.kind === 'catalog') return catalogScope
  if (required.kind !== 'repository') return undefined
  return `repository:${required.name}:${required.action === 'push' ? 'pull,push' : required.action}`
}

/**
 * Access control for push mode: Basic auth against an htpasswd file, and the Docker token flow (a
 * `WWW-Authenticate: Bearer` challenge, a token endpoint, signed JWTs naming the repositories and
 * actions they grant) as docker and podman expect. Every request is checked against routeTable
 * (route-access.ts): a token for one repository grants nothing on another, and the catalog needs its
 * own scope (`registry:catalog:*`), as in the reference registry, and lists only what the caller may read.
 */
export class AccessControl implements RouteGuard {
  private readonly secret: Uint8Array
  readonly policy: ReadPolicy

  constructor(private readonly options: AccessOptions) {
    this.secret = options.tokenSecret ? new TextEncoder().encode(options.tokenSecret) : randomBytes(32)
    this.policy = new ReadPolicy(options)
  }

  private realm(req: IncomingMessage): string {
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
    return `${scheme}://${req.headers.host ?? 'localhost'}/token`
  }

  /** The 401 a client follows to the token endpoint. */
  challenge(req: IncomingMessage, res: ServerResponse, scope?: string): ZregError {
    const parts = [`realm="${this.realm(req)}"`, `service="${service}"`, ...(scope ? [`scope="${scope}"`] : [])]
    res.setHeader('WWW-Authenticate', `Bearer ${parts.join(',')}`)
    const [type, name, action] = scope?.split(':') ?? []
    return new ZregError('UNAUTHORIZED', 'authentication required', { detail: scope ? [{ Type: type, Name: name, Action: action }] : undefined })
  }

  private async basicUser(header: string): Promise<string | undefined> {
    const credentials = basicCredentials(header)
    return credentials !== undefined && (await this.options.users.verify(credentials.user, credentials.password)) ? credentials.user : undefined
  }

  /** Reads the request's credentials; wrong ones (a bad password, a token expired or signed by another key) are undefined, none is an anonymous identity. */
  private async identify(req: IncomingMessage): Promise<Identity | undefined> {
    const header = req.headers.authorization
    if (header === undefined) return {}
    if (authorizationParameter(header, 'Basic') !== undefined) {
      const user = await this.basicUser(header)
      return user === undefined ? undefined : { user }
    }
    const token = authorizationParameter(header, 'Bearer')
    if (token !== undefined) {
      try {
        const { payload } = await jwtVerify(token, this.secret, { issuer, audience: service })
        const grants = ((payload.access as Partial<Grant>[] | undefined) ?? []).map((grant) => ({ type: grant.type ?? 'repository', name: grant.name ?? '', actions: grant.actions ?? [] }))
        return { ...(typeof payload.sub === 'string' && payload.sub !== '' ? { user: payload.sub } : {}), grants }
      } catch {
        return undefined
      }
    }
    return undefined
  }

  /** Whether `user` (undefined: anonymous) may do `action` on `name`. */
  private permits(user: string | undefined, name: string, action: Action): boolean {
    if (action === 'pull') return this.policy.mayRead(user, name)
    if (user === undefined) return false
    const writers = this.options.writers
    if (writers === undefined) return true
    return [...(writers[user] ?? []), ...(writers['*'] ?? [])].some((prefix) => prefix === '*' || name === prefix || name.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))
  }

  private grants(identity: Identity, name: string, action: Action): boolean {
    return identity.grants
      ? identity.grants.some((grant) => grant.type === 'repository' && grant.name === name && grant.actions.includes(action))
      : this.permits(identity.user, name, action)
  }

  /**
   * Lets the request through as routeTable says (`required`), or throws UNAUTHORIZED with the challenge
   * set (naming the scope it lacks). Returns what the caller may read.
   */
  async check(req: IncomingMessage, res: ServerResponse, required: RequiredAccess): Promise<Caller> {
    if (required.kind === 'none') return { mayRead: () => false }
    const identity = await this.identify(req)
    const scope = scopeOf(required)
    if (identity === undefined) throw this.challenge(req, res, scope)
    const anonymous = identity.user === undefined && identity.grants === undefined
    const caller: Caller = { mayRead: (name) => this.policy.mayRead(identity.user, name) }
    switch (required.kind) {
      case 'ping':
        // Clients learn here how to authenticate (containers/image never follows a later challenge when
        // the ping succeeded), so an anonymous one is always challenged; anonymous pulls then take an
        // anonymous token from the token endpoint.
        if (anonymous) throw this.challenge(req, res)
        return caller
      case 'catalog':
        if (identity.grants ? !identity.grants.some((grant) => grant.type === 'registry' && grant.name === 'catalog') : anonymous && !this.policy.anonymousReadsAny()) throw this.challenge(req, res, scope)
        return caller
      case 'page':
        // The page lists every repository: only for a caller who may read them all.
        if (identity.user === undefined && !this.policy.anonymousReadsAll()) throw this.challenge(req, res)
        return caller
      case 'repository':
        if (!this.grants(identity, required.name, required.action)) throw this.challenge(req, res, scope)
        return caller
    }
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
      user = await this.basicUser(header)
      if (user === undefined) {
        res.setHeader('WWW-Authenticate', `Basic realm="${service}"`)
        throw new ZregError('UNAUTHORIZED', 'wrong user name or password')
      }
    }
    const access = parseScopes(query.getAll('scope'))
      .map((grant) =>
        grant.type === 'registry'
          ? { ...grant, actions: user !== undefined || this.policy.anonymousReadsAny() ? grant.actions : [] }
          : { ...grant, actions: grant.actions.filter((action) => (action === 'pull' || action === 'push' || action === 'delete') && this.permits(user, grant.name, action)) },
      )
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
