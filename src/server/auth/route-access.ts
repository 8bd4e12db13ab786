import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ReadPolicy } from '../../access/read-rules.js'

/** What an action on a repository is, as distribution's token scopes name them (`repository:NAME:ACTION`). */
export type Action = 'pull' | 'push' | 'delete'

/**
 * What a request needs, in the terms of distribution's token authorization: nothing; any identity at
 * all (the `/v2/` ping, where clients learn how to authenticate); the catalog (`registry:catalog:*`);
 * the catalog page for people; or an action on one repository.
 */
export type RequiredAccess =
  | { kind: 'none' }
  | { kind: 'ping' }
  | { kind: 'catalog' }
  | { kind: 'page' }
  | { kind: 'repository'; name: string; action: Action }

/** What a request that passed may see of the registry: the catalog lists only what it may read. */
export interface Caller {
  mayRead(name: string): boolean
}

interface RouteRule {
  methods: readonly string[]
  pattern: RegExp
  /** The action on the repository the pattern's first group names; absent: `access`. */
  action?: Action
  access?: RequiredAccess
}

const reads = ['GET', 'HEAD']

/**
 * The authorization table of push mode: every route of the distribution-spec API (and the catalog
 * page), the methods it answers, and what each needs. Every request is checked against it before
 * anything else happens; a route missing here needs nothing and is answered as no route (404/405).
 * Repository names are greedy (`(.+)`): a repository may be named `a/manifests` or `a/blobs`.
 */
export const routeTable: readonly RouteRule[] = [
  { methods: reads, pattern: /^\/v2\/?$/, access: { kind: 'ping' } },
  { methods: reads, pattern: /^\/v2\/_catalog$/, access: { kind: 'catalog' } },
  { methods: reads, pattern: /^\/(index\.html)?$/, access: { kind: 'page' } },
  // Before the blob routes: an upload's path is no blob's.
  { methods: ['POST', 'GET', 'PATCH', 'PUT', 'DELETE'], pattern: /^\/v2\/(.+)\/blobs\/uploads\/[^/]*$/, action: 'push' },
  { methods: reads, pattern: /^\/v2\/(.+)\/(?:manifests|blobs)\/[^/]+$/, action: 'pull' },
  { methods: ['PUT'], pattern: /^\/v2\/(.+)\/manifests\/[^/]+$/, action: 'push' },
  { methods: ['DELETE'], pattern: /^\/v2\/(.+)\/(?:manifests|blobs)\/[^/]+$/, action: 'delete' },
  { methods: reads, pattern: /^\/v2\/(.+)\/tags\/list$/, action: 'pull' },
  { methods: reads, pattern: /^\/v2\/(.+)\/referrers\/[^/]+$/, action: 'pull' },
]

const none: RequiredAccess = { kind: 'none' }

/** What `method` on (decoded) `path` needs: the first rule of routeTable that answers both. */
export function requiredAccess(method: string, path: string): RequiredAccess {
  for (const rule of routeTable) {
    if (!rule.methods.includes(method)) continue
    const match = rule.pattern.exec(path)
    if (match === null) continue
    return rule.action === undefined ? (rule.access ?? none) : { kind: 'repository', name: match[1]!, action: rule.action }
  }
  return none
}

/** An access control that checks each request against routeTable: push mode's (tokens) or zreg serve's (Basic). */
export interface RouteGuard {
  readonly policy: ReadPolicy
  /** Lets the request through as `required` says, or throws UNAUTHORIZED with the challenge set. */
  check(req: IncomingMessage, res: ServerResponse, required: RequiredAccess): Promise<Caller>
}

/**
 * Checks a request for `path` (decoded; a mirror request's resolved one) against `guard`, and returns
 * what the read routes need to answer it (serveRead's options): the repositories the catalog may name
 * to this caller, and whether the answer is the caller's alone (no shared cache may keep it).
 */
export async function guardRequest(guard: RouteGuard, req: IncomingMessage, res: ServerResponse, path: string): Promise<{ visible: (repository: string) => boolean; privateAnswer?: true }> {
  const required = requiredAccess(req.method ?? 'GET', path)
  const caller = await guard.check(req, res, required)
  return { visible: (name) => caller.mayRead(name), ...(publicAnswer(guard.policy, required) ? {} : { privateAnswer: true as const }) }
}

/**
 * Whether the answer to a request needing `required` is the same for every caller and anyone may have
 * it, so a shared cache (a CDN in front) may keep it: not for a repository only users may read, nor
 * for the catalog or its page when what they list depends on the caller, nor for `/v2/`, which answers
 * a user 200 and anyone else 401 (a cache that kept the 200 would let `docker login` pass any password).
 */
function publicAnswer(policy: ReadPolicy, required: RequiredAccess): boolean {
  switch (required.kind) {
    case 'ping':
      return false
    case 'catalog':
    case 'page':
      return policy.anonymousReadsAll()
    case 'repository':
      return policy.mayRead(undefined, required.name)
    default:
      return true
  }
}
