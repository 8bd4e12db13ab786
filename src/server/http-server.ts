import { resolve } from 'node:path'
import type { RedirectRules } from '../build/redirect-rules.js'
import { startHttpServer, type ListenOptions } from './http-listener.js'
import type { BasicAccess } from './auth/basic-access.js'
import type { AuthSettings } from '../access/read-rules.js'
import { StaticRegistry } from './static-registry.js'

export type { ListenOptions } from './http-listener.js'

export interface ServeOptions extends ListenOptions {
  /** The `--out` of `zreg build`. */
  out: string
  /** Blobs the tree holds that are answered with a redirect all the same (its own redirects always are). */
  redirects?: RedirectRules
  /** How often to look for a newly built generation. */
  reloadIntervalMs?: number
  /** Basic auth over the tree (basic-access.ts): the htpasswd file (never inside the tree) and who may read what. */
  auth?: AuthSettings
}

export interface RunningServer {
  url: string
  port: number
  registry: StaticRegistry
  close(): Promise<void>
}

/** The access control `auth` asks for; loaded only then (bcrypt's module would weigh on every serve process). */
async function basicAccess(auth: AuthSettings): Promise<BasicAccess> {
  const [{ BasicAccess }, { Htpasswd }, { ReadPolicy }] = await Promise.all([import('./auth/basic-access.js'), import('./auth/htpasswd.js'), import('../access/read-rules.js')])
  return new BasicAccess(await Htpasswd.load(auth.htpasswd), new ReadPolicy(auth))
}

/** Serves a built tree as a read-only registry over HTTP or HTTPS. */
export async function startStaticServer(options: ServeOptions): Promise<RunningServer> {
  const access = options.auth === undefined ? undefined : await basicAccess(options.auth)
  const registry = await StaticRegistry.open(resolve(options.out), options.redirects, access)
  let timer: NodeJS.Timeout | undefined
  const running = await startHttpServer(registry.handle, options, () => clearInterval(timer))
  timer = setInterval(() => {
    registry.refresh().catch((error: Error) => (running.log ?? console.error)(`zreg: could not load the new tree: ${error.message}`))
  }, options.reloadIntervalMs ?? 500)
  timer.unref()
  return { url: running.url, port: running.port, registry, close: running.close }
}
