import type { RedirectRules } from '../build/redirect-rules.js'
import type { Platform } from '../oci/platform.js'
import { compileSchemas } from '../oci/validate.js'
import type { LayoutStore } from '../store/layout-store.js'
import type { StoreStack } from '../store/store-stack.js'
import type { AccessControl } from './auth/access-control.js'
import { startHttpServer, type ListenOptions } from './http-listener.js'
import { Notifier, type NotificationEndpoint } from './notifier.js'
import { PushRegistry } from './push-registry.js'
import { TreeRebuilder } from './tree-rebuilder.js'

export interface PushServeOptions extends ListenOptions {
  /** The store pushes go into. */
  store: LayoutStore
  /** A stack topped by `store`: reads (and the tree) see all of it (push-registry.ts). */
  reads?: StoreStack
  /** Blobs the rebuilt tree answers with a redirect (the store serves them itself). */
  redirects?: RedirectRules
  /** The static tree rebuilt after each accepted manifest; absent: the store only. */
  out?: string
  defaultPlatform?: Platform
  /** The registry host the tree's catalog page names in its pull commands. */
  publicHost?: string
  /** Upload sessions untouched this long are purged (default 24 h). */
  uploadExpiryMs?: number
  /** Upload requests that may run at once before 503 (default 64). */
  maxUploads?: number
  /** The first path component names the upstream registry; namespaces are separate. */
  namespaced?: boolean
  /** Webhook endpoints told of pushes, tags and deletes. */
  notifications?: NotificationEndpoint[]
  /** Who may pull and push; absent: anyone (a dev registry). */
  access?: AccessControl
}

export interface RunningPushServer {
  url: string
  port: number
  registry: PushRegistry
  close(): Promise<void>
}

/** Push (dev) mode: the full registry API over the store, keeping the static tree current. */
export async function startPushServer(options: PushServeOptions): Promise<RunningPushServer> {
  compileSchemas()
  const rebuilder =
    options.out === undefined
      ? undefined
      : new TreeRebuilder(options.reads ?? options.store, options.out, {
          ...(options.defaultPlatform ? { defaultPlatform: options.defaultPlatform } : {}),
          ...(options.publicHost === undefined ? {} : { publicHost: options.publicHost }),
          ...(options.redirects === undefined ? {} : { redirects: options.redirects }),
        })
  const registry = new PushRegistry(options.store, {
    ...(options.reads ? { reads: options.reads } : {}),
    ...(rebuilder ? { rebuilder } : {}),
    ...(options.defaultPlatform ? { defaultPlatform: options.defaultPlatform } : {}),
    ...(options.maxUploads ? { maxUploads: options.maxUploads } : {}),
    ...(options.namespaced ? { namespaced: true } : {}),
    ...(options.access ? { access: options.access } : {}),
  })
  // The tree exists from the start, so `zreg serve` and nginx can be pointed at it at once.
  await rebuilder?.rebuild()
  const expiry = options.uploadExpiryMs ?? 24 * 60 * 60 * 1000
  await registry.uploads.purge(expiry)
  const timer = setInterval(() => void registry.uploads.purge(expiry).catch(() => undefined), Math.min(expiry, 10 * 60 * 1000))
  timer.unref()
  const running = await startHttpServer(registry.handle, options, () => clearInterval(timer))
  // Events name the registry's address, known only once it listens (and before any request arrives).
  if (options.notifications?.length) registry.notifier = new Notifier(options.notifications, { addr: running.url.replace(/^https?:\/\//, '') }, running.log ?? console.error)
  return { url: running.url, port: running.port, registry, close: running.close }
}
