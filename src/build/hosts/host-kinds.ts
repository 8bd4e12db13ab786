import { apacheHost } from './apache.js'
import { caddyHost } from './caddy.js'
import type { HostKind } from './host-kind.js'
import { htaccessHost } from './htaccess.js'
import { netlifyHost } from './netlify.js'
import { nginxHost } from './nginx.js'
import { s3Host } from './s3.js'

/** Every `zreg server-config --for` kind: one entry per line, sorted by name. */
export const hostKinds: Record<string, HostKind> = {
  apache: apacheHost,
  caddy: caddyHost,
  htaccess: htaccessHost,
  netlify: netlifyHost,
  nginx: nginxHost,
  s3: s3Host,
}
