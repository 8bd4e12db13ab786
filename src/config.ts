import { readFile } from 'node:fs/promises'
import { systemError, ZregError } from './errors.js'
import { validateAgainstSchema } from './oci/validate.js'
import type { RedirectRule } from './build/redirect-rules.js'
import type { NotificationEndpoint } from './server/notifier.js'

/** zreg.json: defaults for every command; flags and ZREG_* variables override it. */
export interface ZregConfig {
  store?: string
  /** Stores stacked on `store`, lowest first (build and ls --overlay). */
  overlays?: string[]
  out?: string
  defaultPlatform?: string
  /** Seconds caches may keep what a build can change (build --cache-max-age). */
  cacheMaxAge?: number
  /** The registry host the catalog page's pull commands name (build --public-host). */
  publicHost?: string
  /** Blobs answered with a redirect (to a CDN, to mirrors) instead of being held in the tree (build, serve; --redirect). */
  redirects?: RedirectRule[]
  /** zreg publish to S3: where the bucket is (credentials come from the AWS SDK's chain). */
  publish?: { endpoint?: string; region?: string; pathStyle?: boolean; jobs?: number }
  serve?: { host?: string; port?: number | string; tlsCert?: string; tlsKey?: string; accessLog?: boolean; workers?: number }
  notifications?: NotificationEndpoint[]
  /** Push mode access control. */
  auth?: { htpasswd?: string; read?: 'anonymous' | 'authenticated'; public?: string[]; private?: string[]; writers?: Record<string, string[]>; tokenSecret?: string }
}

export const defaultConfigFile = 'zreg.json'

/**
 * Replaces ${VAR} and ${VAR:-default} in `text`, as a shell does: `:-` also replaces an empty value;
 * for an unset variable without a default, throws what `unset(name)` makes.
 */
export function expandEnvVariables(text: string, env: NodeJS.ProcessEnv, unset: (name: string) => Error): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
    const found = env[name]
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found
    if (found !== undefined) return found
    throw unset(name)
  })
}

/** expandEnvVariables in every string of a JSON value; an unset variable is CONFIG_FILE_INVALID naming where. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, where = ''): unknown {
  if (typeof value === 'string') {
    return expandEnvVariables(value, env, (name) => new ZregError('CONFIG_FILE_INVALID', `${where || 'a value'} uses \${${name}}, which is not set; set it or write \${${name}:-default}`))
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, `${where}[${i}]`))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, where ? `${where}.${key}` : key)]))
  }
  return value
}

/**
 * Reads the config file. `path` undefined means the optional ./zreg.json; a named file must exist.
 */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ZregConfig> {
  const file = path ?? defaultConfigFile
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && path === undefined) return {}
    const reason = systemError(error, file, `the config file${path === undefined ? '' : ' --config or ZREG_CONFIG names'}`)?.message
    throw new ZregError('CONFIG_FILE_INVALID', reason ?? `cannot read the config file ${file}: ${(error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ZregError('CONFIG_FILE_INVALID', `${file} is not valid JSON: ${(error as Error).message}`)
  }
  const config = substituteEnv(json, env)
  validateAgainstSchema('zreg-config', config, 'CONFIG_FILE_INVALID', file)
  return config as ZregConfig
}
