import { compileRedirectRules, type RedirectRule } from '../build/redirect-rules.js'
import { parsePlatform } from '../oci/platform.js'
import { AccessControl } from '../server/auth/access-control.js'
import { Htpasswd } from '../server/auth/htpasswd.js'
import type { AuthSettings } from '../access/read-rules.js'
import type { ListenOptions } from '../server/http-listener.js'
import type { NotificationEndpoint } from '../server/notifier.js'
import { startPushServer } from '../server/push-server.js'
import { serveUntilSignal } from '../server/until-signal.js'
import { openPushStores } from './store-stacks.js'

/**
 * Push mode once its flags and config file are read (`zreg push`, `zreg serve --push`): JSON, so the
 * program the command hands its server to runs it the same (handoff.ts). Paths as given.
 */
export interface PushModeSettings {
  /** The store, and the stores stacked on it (lowest first; pushes go into the top one). */
  store: string
  overlays: string[]
  out: string
  /** Checked already (parsePlatform, checkRegistryHost). */
  defaultPlatform?: string
  publicHost?: string
  /** Access control: the htpasswd file and AccessOptions but its users. */
  auth?: AuthSettings & { writers?: Record<string, string[]>; tokenSecret?: string }
  /** Redirect rules as normalized (RedirectRules.rules). */
  redirects: readonly object[]
  uploadExpiryMs: number
  maxUploads: number
  namespaced: boolean
  notifications: NotificationEndpoint[]
  listen: Omit<ListenOptions, 'accessLog'> & { accessLog?: false }
  /** One JSON line `{url, port}` on stdout instead of the lines for people on stderr. */
  json: boolean
}

/**
 * Runs push mode until SIGINT or SIGTERM: opens the stores (the top one made when missing), reads the
 * htpasswd file, starts the server and says where. Rejects as they do (STORE_NOT_FOUND, USAGE for a
 * store stacked twice, the system error of an htpasswd file it cannot read, PORT_IN_USE, ...).
 */
export async function runPushMode(settings: PushModeSettings): Promise<{ url: string; port: number }> {
  // Under --json, stdout's line is all it says (as oclif's logToStderr keeps quiet then).
  const log = settings.json ? () => undefined : (text: string) => void process.stderr.write(`${text}\n`)
  const { store, reads } = await openPushStores(settings.store, settings.overlays)
  const { auth } = settings
  const access = auth === undefined
    ? undefined
    : new AccessControl({
        users: await Htpasswd.load(auth.htpasswd),
        read: auth.read,
        ...(auth.public ? { public: auth.public } : {}),
        ...(auth.private ? { private: auth.private } : {}),
        ...(auth.writers ? { writers: auth.writers } : {}),
        ...(auth.tokenSecret ? { tokenSecret: auth.tokenSecret } : {}),
      })
  const server = await startPushServer({
    ...(access ? { access } : {}),
    store,
    ...(reads ? { reads } : {}),
    redirects: compileRedirectRules(settings.redirects as RedirectRule[], 'redirects'),
    out: settings.out,
    ...(settings.defaultPlatform ? { defaultPlatform: parsePlatform(settings.defaultPlatform) } : {}),
    ...(settings.publicHost === undefined ? {} : { publicHost: settings.publicHost }),
    uploadExpiryMs: settings.uploadExpiryMs,
    maxUploads: settings.maxUploads,
    ...(settings.namespaced ? { namespaced: true } : {}),
    notifications: settings.notifications,
    ...settings.listen,
  })
  if (settings.json) {
    process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`)
  } else {
    const stacked = reads ? ` (on ${reads.locations.slice(0, -1).join(', ')})` : ''
    log(`zreg: push mode at ${server.url} (port ${server.port}), store ${store.location}${stacked}, tree ${settings.out}`)
    const authority = server.url.replace(/^https?:\/\//, '')
    log(`try:  skopeo copy ${server.url.startsWith('http:') ? '--dest-tls-verify=false ' : ''}oci:LAYOUT:REF docker://${authority}/REPO:TAG`)
  }
  await serveUntilSignal(server, log)
  return { url: server.url, port: server.port }
}
