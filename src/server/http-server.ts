import { resolve } from 'node:path'
import type { RedirectRules } from '../build/redirect-rules.js'
import { startHttpServer, type ListenOptions } from './http-listener.js'
import { StaticRegistry } from './static-registry.js'

export type { ListenOptions } from './http-listener.js'

export interface ServeOptions extends ListenOptions {
  /** The `--out` of `zreg build`. */
  out: string
  /** Blobs the tree holds that are answered with a redirect all the same (its own redirects always are). */
  redirects?: RedirectRules
  /** How often to look for a newly built generation. */
  reloadIntervalMs?: number
}

export interface RunningServer {
  url: string
  port: number
  registry: StaticRegistry
  close(): Promise<void>
}

/** Serves a built tree as a read-only registry over HTTP or HTTPS. */
export async function startStaticServer(options: ServeOptions): Promise<RunningServer> {
  const registry = await StaticRegistry.open(resolve(options.out), options.redirects)
  let timer: NodeJS.Timeout | undefined
  const running = await startHttpServer(registry.handle, options, () => clearInterval(timer))
  timer = setInterval(() => {
    registry.refresh().catch((error: Error) => (running.log ?? console.error)(`zreg: could not load the new tree: ${error.message}`))
  }, options.reloadIntervalMs ?? 500)
  timer.unref()
  return { url: running.url, port: running.port, registry, close: running.close }
}
