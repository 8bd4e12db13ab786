import type { IncomingMessage, ServerResponse } from 'node:http'
import { ZregError } from '../../errors.js'
import { authorizationParameter, basicCredentials } from './authorization-header.js'
import type { Htpasswd } from './htpasswd.js'
import type { ReadPolicy } from '../../access/read-rules.js'
import type { Caller, RequiredAccess, RouteGuard } from './route-access.js'

/**
 * Basic auth over a built tree (`zreg serve --auth`), as a web server's own Basic auth does it
 * (`WWW-Authenticate: Basic realm=...` and the OCI error body): reads follow the policy, checked
 * against routeTable (route-access.ts) for every request. `/v2/` answers anonymous clients 401, so
 * they know to log in (`docker login`); they still pull what anyone may read. Writes are no route of
 * a static tree: the server refuses them whatever the credentials.
 */
export class BasicAccess implements RouteGuard {
  constructor(
    private readonly users: Htpasswd,
    readonly policy: ReadPolicy,
    private readonly realm = 'zreg',
  ) {}

  private challenge(res: ServerResponse, message: string): ZregError {
    res.setHeader('WWW-Authenticate', `Basic realm="${this.realm}", charset="UTF-8"`)
    return new ZregError('UNAUTHORIZED', message)
  }

  /** The user the request names with the right password; undefined for none (or empty ones); UNAUTHORIZED (challenge set) for wrong ones or another scheme. */
  private async user(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const header = req.headers.authorization
    if (header === undefined) return undefined
    const parameter = authorizationParameter(header, 'Basic')
    if (parameter === undefined) throw this.challenge(res, 'this registry takes Basic credentials: log in with a user name and password')
    if (parameter === '') return undefined
    const credentials = basicCredentials(header)
    // No user and no password: what containers/image (skopeo, podman) sends after a Basic challenge
    // when it has no credentials. It asks as anyone does.
    if (credentials?.user === '' && credentials.password === '') return undefined
    if (credentials === undefined || !(await this.users.verify(credentials.user, credentials.password))) throw this.challenge(res, 'wrong user name or password')
    return credentials.user
  }

  /** Lets the request through as `required` says, or throws UNAUTHORIZED with the Basic challenge set. Returns what the caller may read. */
  async check(req: IncomingMessage, res: ServerResponse, required: RequiredAccess): Promise<Caller> {
    if (required.kind === 'none') return { mayRead: () => false }
    const user = await this.user(req, res)
    const caller: Caller = { mayRead: (name) => this.policy.mayRead(user, name) }
    if (user !== undefined) return caller
    const allowed =
      required.kind === 'catalog' ? this.policy.anonymousReadsAny()
      : required.kind === 'page' ? this.policy.anonymousReadsAll()
      : required.kind === 'repository' ? required.action !== 'pull' || this.policy.mayRead(undefined, required.name)
      : false
    if (!allowed) throw this.challenge(res, 'authentication required')
    return caller
  }
}
