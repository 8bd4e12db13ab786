import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { systemError, ZregError } from '../errors.js'
import { normalizeRegistry } from './remote-reference.js'

export interface Credentials {
  username: string
  password: string
}

export interface CredentialLookup {
  credentials?: Credentials
  /** Where they came from, for messages: '--creds', '$REGISTRY_AUTH_FILE (/path)', '~/.docker/config.json', ... */
  source?: string
  /** A credential helper (credHelpers / credsStore) configured for this registry, which zreg does not run. */
  helper?: string
}

/** Parses USER:PASS; USER alone takes the password from ZREG_PASSWORD, else a USAGE error saying so. */
export function parseCreds(text: string, env: NodeJS.ProcessEnv): Credentials {
  const colon = text.indexOf(':')
  const username = colon < 0 ? text : text.slice(0, colon)
  if (username === '') throw new ZregError('USAGE', '--creds USER[:PASS] names no user before the colon')
  if (colon >= 0) return { username, password: text.slice(colon + 1) }
  const password = env.ZREG_PASSWORD
  if (password === undefined) {
    throw new ZregError('USAGE', `--creds "${username}" gives no password: write --creds ${username}:PASSWORD, or set ZREG_PASSWORD (which keeps it out of the process list)`)
  }
  return { username, password }
}

/** One auth file of containers-auth.json(5) or docker's config.json: the parts zreg reads. */
interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string } | undefined>
  credHelpers?: Record<string, string | undefined>
  credsStore?: string
}

/** The files to read, in containers-auth.json(5)'s order, each with how messages name it. */
function authFiles(env: NodeJS.ProcessEnv): { path: string; source: string }[] {
  const home = env.HOME ?? homedir()
  const files: { path: string; source: string }[] = []
  if (env.REGISTRY_AUTH_FILE) files.push({ path: env.REGISTRY_AUTH_FILE, source: `$REGISTRY_AUTH_FILE (${env.REGISTRY_AUTH_FILE})` })
  if (env.XDG_RUNTIME_DIR) {
    const path = join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
    files.push({ path, source: path })
  }
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config')
  files.push({ path: join(configHome, 'containers', 'auth.json'), source: env.XDG_CONFIG_HOME ? join(configHome, 'containers', 'auth.json') : '~/.config/containers/auth.json' })
  if (env.DOCKER_CONFIG) files.push({ path: join(env.DOCKER_CONFIG, 'config.json'), source: `$DOCKER_CONFIG/config.json (${join(env.DOCKER_CONFIG, 'config.json')})` })
  else files.push({ path: join(home, '.docker', 'config.json'), source: '~/.docker/config.json' })
  return files
}

async function readAuthFile(path: string, source: string): Promise<AuthFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw systemError(error, path, 'a registry credentials file') ?? error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ZregError('AUTH_FILE_INVALID', `${source} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ZregError('AUTH_FILE_INVALID', `${source} is not a JSON object`)
  return parsed as AuthFile
}

/**
 * An auths key as containers/image normalizes it: a key with a scheme is a legacy one (docker's
 * `https://index.docker.io/v1/`) and names only its host; index.docker.io is docker.io.
 */
function normalizeKey(key: string): string {
  const scheme = /^https?:\/\//i.exec(key)
  if (scheme) return normalizeRegistry(key.slice(scheme[0].length).split('/')[0]!)
  const slash = key.indexOf('/')
  return slash < 0 ? normalizeRegistry(key) : `${normalizeRegistry(key.slice(0, slash))}${key.slice(slash).replace(/\/+$/, '')}`
}

/** registry/ns/repo, registry/ns, registry: the keys that match, most specific first. */
function candidateKeys(registry: string, repository: string): string[] {
  const parts = repository.split('/')
  const keys: string[] = []
  for (let i = parts.length; i > 0; i--) keys.push(`${registry}/${parts.slice(0, i).join('/')}`)
  keys.push(registry)
  return keys
}

function decodeEntry(entry: { auth?: string; username?: string; password?: string }, source: string, key: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon <= 0) throw new ZregError('AUTH_FILE_INVALID', `${source}: auths["${key}"].auth is not base64 of USER:PASSWORD`)
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') return { username: entry.username, password: entry.password }
  return undefined
}

/**
 * `--creds USER[:PASS]` (options.creds, or $ZREG_CREDS) first, then the files users already have, in the
 * order containers-auth.json(5) gives: $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json,
 * ~/.config/containers/auth.json, ~/.docker/config.json (`auths`: `auth` base64 user:pass, or
 * username/password); keys may be `host`, `host/ns/repo` (most specific wins), `https://index.docker.io/v1/`
 * for docker.io, with or without scheme. A credential helper configured for the registry (credHelpers,
 * credsStore) is reported in `helper`, as zreg does not run helpers. Nothing found: `{}` (anonymous).
 * Throws AUTH_FILE_INVALID naming a file that is not valid JSON.
 */
export async function lookupCredentials(ref: { registry: string; repository: string }, options: { creds?: Credentials; env?: NodeJS.ProcessEnv }): Promise<CredentialLookup> {
  const env = options.env ?? process.env
  if (options.creds) return { credentials: options.creds, source: '--creds' }
  if (env.ZREG_CREDS) return { credentials: parseCreds(env.ZREG_CREDS, env), source: '$ZREG_CREDS' }
  const registry = normalizeRegistry(ref.registry)
  const keys = candidateKeys(registry, ref.repository)
  let helper: { helper: string; source: string } | undefined
  for (const { path, source } of authFiles(env)) {
    const file = await readAuthFile(path, source)
    if (file === undefined) continue
    const entries = new Map<string, { key: string; entry: { auth?: string; username?: string; password?: string } }>()
    for (const [key, entry] of Object.entries(file.auths ?? {})) {
      if (entry && typeof entry === 'object') entries.set(normalizeKey(key), { key, entry })
    }
    for (const key of keys) {
      const found = entries.get(key)
      const credentials = found && decodeEntry(found.entry, source, found.key)
      if (credentials) return { credentials, source }
    }
    const helperName = Object.entries(file.credHelpers ?? {}).find(([key]) => normalizeKey(key) === registry)?.[1] ?? file.credsStore
    if (helper === undefined && typeof helperName === 'string' && helperName !== '') helper = { helper: `docker-credential-${helperName}`, source }
  }
  return helper ?? {}
}
