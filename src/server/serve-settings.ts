import { compileRedirectRules, type RedirectRule } from '../build/redirect-rules.js'
import { ZregError } from '../errors.js'
import type { ServeOptions } from './http-server.js'

/**
 * ServeOptions as JSON, for another process to serve the same (a serve worker, or the program `zreg
 * serve` hands over to): the redirect rules as normalized (RedirectRules.rules), which compile to the
 * same rules again; the access log only as on or off.
 */
export type ServeSettings = Omit<ServeOptions, 'redirects' | 'accessLog'> & {
  redirects: readonly object[]
  accessLog?: false
}

/** `options` as ServeSettings; INTERNAL for an access log given as a function, which no other process can call. */
export function serveSettings(options: ServeOptions): ServeSettings {
  const { redirects, accessLog, ...rest } = options
  if (typeof accessLog === 'function') throw new ZregError('INTERNAL', 'a server in another process writes its own access log: accessLog may only be false')
  return { ...rest, redirects: redirects?.rules ?? [], ...(accessLog === false ? { accessLog } : {}) }
}

/** The ServeOptions `settings` stand for (the rules compiled again). */
export function serveOptionsOf(settings: ServeSettings): ServeOptions {
  const { redirects, ...rest } = settings
  return { ...rest, redirects: compileRedirectRules(redirects as RedirectRule[], 'redirects') }
}
