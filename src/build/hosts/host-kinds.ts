import { caddyHost } from './caddy.js'
import type { HostKind } from './host-kind.js'
import { nginxHost } from './nginx.js'

/** Every `zreg server-config --for` kind: one entry per line, sorted by name. */
export const hostKinds: Record<string, HostKind> = {
  caddy: caddyHost,
  nginx: nginxHost,
}
