import { ZregError } from '../errors.js'
import { parseChallenges, type AuthChallenge } from './auth-challenge.js'
import type { Credentials } from './credentials.js'
import { readErrorBody, sendRequest, type RequestContext } from './retrying-request.js'

/** A token's lifetime when the token server gives none (the distribution token spec's default). */
const defaultTokenSeconds = 60
/** Tokens are renewed this long before they expire, so none expires in flight. */
const expiryMarginMs = 5_000

interface CachedToken {
  token: Promise<string>
  expiresAt: number
}

export interface RegistryAuthOptions {
  context: RequestContext
  credentials?: Credentials
  /** Where the credentials came from, for messages. */
  credentialSource?: string
  /** A credential helper configured for the registry that zreg does not run, for messages. */
  credentialHelper?: string
}

/**
 * Answers a registry's challenges: nothing while none came, Basic with the credentials, or the bearer
 * token flow of the distribution token spec (GET realm?service=&scope=repository:<name>:pull, with Basic
 * credentials when there are some; `token` or `access_token`, `expires_in` default 60 s). Tokens are
 * cached per scope, shared by concurrent requests, and refreshed once when the registry refuses one.
 */
export class RegistryAuth {
  private challenge: AuthChallenge | undefined
  private readonly tokens = new Map<string, CachedToken>()
  /** The scope a 401 asked for, per repository, when it was not the plain pull scope. */
  private readonly scopes = new Map<string, string>()
  /** How many token requests were sent, per scope (tests and progress read it). */
  readonly tokenRequests = new Map<string, number>()

  constructor(private readonly options: RegistryAuthOptions) {}

  /** Takes the challenge of a 401 (the ping's or a request's); true when it is one zreg can answer. */
  learn(wwwAuthenticate: string | string[] | undefined, repository?: string): boolean {
    const challenges = parseChallenges(wwwAuthenticate)
    const chosen = challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic')
    if (chosen === undefined) return false
    this.challenge = chosen
    if (chosen.scheme === 'bearer' && repository !== undefined && chosen.params.scope?.includes(`repository:${repository}:`)) this.scopes.set(repository, chosen.params.scope)
    return true
  }

  /** True when the last challenge was Basic (and so a refusal is final). */
  get isBasic(): boolean {
    return this.challenge?.scheme === 'basic'
  }

  get hasCredentials(): boolean {
    return this.options.credentials !== undefined
  }

  private scope(repository: string | undefined): string | undefined {
    if (repository === undefined) return undefined
    return this.scopes.get(repository) ?? `repository:${repository}:pull`
  }

  /** The Authorization header for a request about `repository`, or undefined (anonymous). */
  async authorization(repository: string | undefined): Promise<string | undefined> {
    const challenge = this.challenge
    if (challenge === undefined) return undefined
    if (challenge.scheme === 'basic') {
      const creds = this.options.credentials
      return creds && `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
    }
    return `Bearer ${await this.token(challenge, this.scope(repository), repository)}`
  }

  /** Forgets the token of `repository`'s scope, so the next authorization() fetches a new one. */
  invalidate(repository: string | undefined): void {
    this.tokens.delete(this.scope(repository) ?? '')
  }

  private token(challenge: AuthChallenge, scope: string | undefined, repository: string | undefined): Promise<string> {
    const key = scope ?? ''
    const cached = this.tokens.get(key)
    if (cached && cached.expiresAt > Date.now()) return cached.token
    // In flight it never expires: concurrent requests share the one token request.
    const entry: CachedToken = { token: Promise.resolve(''), expiresAt: Number.POSITIVE_INFINITY }
    const requestedAt = Date.now()
    entry.token = this.fetchToken(challenge, scope, repository).then(
      ({ token, seconds }) => {
        entry.expiresAt = requestedAt + Math.max(seconds * 1000 - expiryMarginMs, seconds * 500)
        return token
      },
      (error: unknown) => {
        if (this.tokens.get(key) === entry) this.tokens.delete(key)
        throw error
      },
    )
    this.tokens.set(key, entry)
    return entry.token
  }

  /** GET realm?service=&scope= (the distribution token spec): the token and its lifetime in seconds. */
  private async fetchToken(challenge: AuthChallenge, scope: string | undefined, repository: string | undefined): Promise<{ token: string; seconds: number }> {
    const { context, credentials } = this.options
    let realm: URL
    try {
      realm = new URL(challenge.params.realm ?? '')
    } catch {
      throw new ZregError('REMOTE_INVALID', `the registry ${context.registry} sent a bearer challenge whose realm "${challenge.params.realm}" is not a URL`)
    }
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service)
    if (scope !== undefined) realm.searchParams.set('scope', scope)
    // As docker sends it: the account the token is for (the token spec's optional `account`).
    if (credentials) realm.searchParams.set('account', credentials.username)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    this.tokenRequests.set(scope ?? '', (this.tokenRequests.get(scope ?? '') ?? 0) + 1)
    return sendRequest(context, { url: realm, method: 'GET', headers }, async (response) => {
      if (response.statusCode === 401 || response.statusCode === 403) {
        throw this.refused(repository, response.statusCode, await readErrorBody(response), `the token server ${realm.origin}${realm.pathname}`)
      }
      if (response.statusCode !== 200) {
        const words = await readErrorBody(response)
        throw new ZregError('REMOTE_INVALID', `the token server ${realm.origin}${realm.pathname} of ${context.registry} answered ${response.statusCode}${words ? ` (${words})` : ''}`)
      }
      let body: { token?: unknown; access_token?: unknown; expires_in?: unknown }
      try {
        body = (await response.body.json()) as typeof body
      } catch (error) {
        throw new ZregError('REMOTE_INVALID', `the token server ${realm.origin}${realm.pathname} of ${context.registry} sent no JSON: ${(error as Error).message}`, { cause: error })
      }
      const value = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token
      if (typeof value !== 'string' || value === '') throw new ZregError('REMOTE_INVALID', `the token server ${realm.origin}${realm.pathname} of ${context.registry} answered without a token`)
      const expires = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : defaultTokenSeconds
      return { token: value, seconds: expires }
    })
  }

  /**
   * REMOTE_UNAUTHORIZED for `repository`: who refused (`by`, the registry by default), with which
   * credentials and from where, and the credential helper zreg did not run.
   */
  refused(repository: string | undefined, status: number, words: string, by?: string): ZregError {
    const { context, credentials, credentialSource, credentialHelper } = this.options
    const what = repository === undefined ? `the registry ${context.registry}` : `docker://${context.registry}/${repository}`
    const who = by ?? 'the registry'
    const how = credentials ? `the credentials of user "${credentials.username}" from ${credentialSource ?? 'the caller'}` : 'no credentials (none given, none found in the auth files)'
    const verb = status === 403 ? 'denied access' : 'refused'
    const helper = credentialHelper ? `; ${credentialSource ?? 'the auth file'} configures ${credentialHelper} for ${context.registry}, which zreg does not run: pass --creds` : ''
    // Docker Hub and others answer 401, not 404, for a repository that does not exist.
    const missing = status === 401 && repository !== undefined && by === undefined ? ', or the repository does not exist' : ''
    return new ZregError('REMOTE_UNAUTHORIZED', `${what}: ${who} ${verb} ${credentials ? '' : 'access with '}${how} (${status}${words ? ` ${words}` : ''})${missing}${helper}`, {
      detail: { registry: context.registry, repository, status },
    })
  }
}

