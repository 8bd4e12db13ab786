import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import { compileRedirectRules, parseRedirectFlag, type RedirectRules } from '../build/redirect-rules.js'
import { loadConfig, type ZregConfig } from '../config.js'
import { ZregError } from '../errors.js'
import { repositoryGlob } from '../oci/repository-glob.js'
import type { AuthSettings } from '../access/read-rules.js'
import { firstMissingDirectory, LayoutStore } from '../store/layout-store.js'
import { StoreStack } from '../store/store-stack.js'
import { isOclifExit, reportError, toCliError } from './cli-error.js'
import { openStoreStack } from './store-stacks.js'

/** Flags every command takes, and the one place errors become messages and exit codes. */
export abstract class ZregCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({ description: 'Configuration file (JSON; ${VAR} and ${VAR:-default} are substituted from the environment).', env: 'ZREG_CONFIG', helpGroup: 'GLOBAL' }),
  }

  private configCache: ZregConfig | undefined

  async config_(flags: { config?: string | undefined }): Promise<ZregConfig> {
    this.configCache ??= await loadConfig(flags.config)
    return this.configCache
  }

  async openStore(flag: string | undefined, config: ZregConfig, options: { create?: boolean } = {}): Promise<LayoutStore> {
    return LayoutStore.open(flag ?? config.store ?? './zreg-store', options)
  }

  /**
   * The store with the overlays of --overlay (else the config file's `overlays`) stacked on it
   * (openStoreStack); a plain store when there are none.
   */
  async openStack(storeFlag: string | undefined, overlayFlags: string[] | undefined, config: ZregConfig, options: { createTop?: boolean } = {}): Promise<LayoutStore | StoreStack> {
    return openStoreStack(storeFlag ?? config.store ?? './zreg-store', overlayFlags ?? config.overlays ?? [], options)
  }

  /**
   * Runs `work` on the store, creating it when missing; if `work` fails, a store this call created (and
   * the parent directories it made) is removed again unless something was committed to it meanwhile,
   * so a failed first `zreg add` leaves nothing behind; the same when a signal ends the process.
   */
  async withStore<T>(flag: string | undefined, config: ZregConfig, work: (store: LayoutStore) => Promise<T>): Promise<T> {
    const created = await firstMissingDirectory(flag ?? config.store ?? './zreg-store')
    const store = await this.openStore(flag, config)
    // Ctrl-C, kill or a closed terminal: drop what was staged (and a store made for it), then die of
    // the same signal. All of it synchronous: the interrupted work must not go on (and report errors
    // about files removed under it) in between. Only kill -9 leaves staging behind, for the next add.
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
    const interrupted = (signal: NodeJS.Signals) => {
      for (const name of signals) process.removeListener(name, interrupted)
      this.progressDone()
      try {
        store.stagingAbandon()
        if (created !== undefined) store.removeIfUnused(created)
      } finally {
        // No listener is left, so the default action ends the process here.
        process.kill(process.pid, signal)
      }
    }
    for (const name of signals) process.once(name, interrupted)
    try {
      return await work(store)
    } catch (error) {
      if (created !== undefined) {
        try {
          store.removeIfUnused(created)
        } catch {
          // The error that failed the work is the one to report.
        }
      }
      throw error
    } finally {
      for (const name of signals) process.removeListener(name, interrupted)
    }
  }

  /** Progress goes to stderr and only to a terminal, so pipes and CI logs stay clean. */
  protected progress(text: string): void {
    if (process.stderr.isTTY && !this.jsonEnabled()) process.stderr.write(`\r\x1b[2K${text}`)
  }

  /** A registry request that failed and will be tried again: one line on stderr, so a slow run says why. */
  protected retried(event: { url: string; attempt: number; delayMs: number; reason: string }): void {
    this.progressDone()
    process.stderr.write(`zreg: ${event.reason} from ${event.url}; retry ${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s\n`)
  }

  protected progressDone(): void {
    if (process.stderr.isTTY && !this.jsonEnabled()) process.stderr.write('\r\x1b[2K')
  }

  override async catch(thrown: Interfaces.CommandError): Promise<unknown> {
    // `this.exit(n)` is oclif's way to end with a code, not an error.
    if (isOclifExit(thrown)) return super.catch(thrown)
    this.progressDone()
    reportError(toCliError(thrown), { json: this.jsonEnabled() })
    return undefined
  }
}

/** The flags of every command that runs a server. */
export const listenFlags = {
  port: Flags.integer({ char: 'p', description: 'Port; 0 picks a free one [default: 5000]', env: 'ZREG_PORT', min: 0, max: 65535 }),
  host: Flags.string({ description: 'Address to bind [default: 127.0.0.1]', env: 'ZREG_HOST' }),
  'tls-cert': Flags.string({ description: 'PEM certificate (chain) for HTTPS', dependsOn: ['tls-key'] }),
  'tls-key': Flags.string({ description: 'PEM private key for HTTPS', dependsOn: ['tls-cert'] }),
  'access-log': Flags.boolean({ description: 'One line per request on stdout [default: true]', allowNo: true }),
}

/** Listen options from the flags, then the config file's `serve` section, then defaults. */
export function listenOptions(flags: { port?: number | undefined; host?: string | undefined; 'tls-cert'?: string | undefined; 'tls-key'?: string | undefined; 'access-log'?: boolean | undefined }, config: ZregConfig, options: { json?: boolean } = {}) {
  const serveConfig = config.serve ?? {}
  // --port and ZREG_PORT are checked by the flag parser; the config file's serve.port here.
  const port = flags.port ?? (serveConfig.port === undefined ? 5000 : Number(serveConfig.port))
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ZregError('CONFIG_FILE_INVALID', `serve.port in the config file is ${JSON.stringify(serveConfig.port)}; a port is an integer from 0 to 65535 (0 picks a free one)`)
  }
  const cert = flags['tls-cert'] ?? serveConfig.tlsCert
  const key = flags['tls-key'] ?? serveConfig.tlsKey
  return {
    host: flags.host ?? serveConfig.host ?? '127.0.0.1',
    port,
    ...(cert && key ? { tls: { cert, key } } : {}),
    ...((flags['access-log'] ?? serveConfig.accessLog ?? true) ? {} : { accessLog: false as const }),
    ...(options.json ? { logFormat: 'json' as const } : {}),
  }
}

/** Who may read (push mode and `zreg serve`): an htpasswd file, and which repositories need its users. */
export const authFlags = {
  auth: Flags.string({ description: 'Access control: htpasswd:FILE (bcrypt entries, as htpasswd -B writes) [default: auth.htpasswd in the config file]' }),
  read: Flags.string({ description: 'With --auth: who may pull [default: anonymous]', options: ['anonymous', 'authenticated'] }),
  public: Flags.string({ description: 'With --auth: repositories anyone may pull even with --read authenticated (a glob: * within a name component, ** across them; repeatable) [default: auth.public in the config file]', multiple: true }),
  private: Flags.string({ description: 'With --auth: repositories only users may pull (a glob, repeatable; wins over --public) [default: auth.private in the config file]', multiple: true }),
}

/**
 * The access control authFlags, then the config file's `auth`, ask for; undefined for none. USAGE for
 * --auth of another kind or without a file, a glob that cannot match a repository name, or rules
 * (--read, --public, --private, or the config file's) with no htpasswd file to log in with, which
 * would protect nothing: the command fails, not the server it would start.
 */
export function authSettings(flags: { auth?: string | undefined; read?: string | undefined; public?: string[] | undefined; private?: string[] | undefined }, config: ZregConfig): AuthSettings | undefined {
  const fromConfig = config.auth ?? {}
  const auth = flags.auth ?? (fromConfig.htpasswd === undefined ? undefined : `htpasswd:${fromConfig.htpasswd}`)
  if (auth === undefined) {
    const rules = [
      ...(['read', 'public', 'private'] as const).filter((name) => flags[name] !== undefined).map((name) => `--${name}`),
      ...(['read', 'public', 'private', 'writers', 'tokenSecret'] as const).filter((name) => fromConfig[name] !== undefined).map((name) => `auth.${name} in the config file`),
    ]
    if (rules.length > 0) throw new ZregError('USAGE', `${rules.join(' and ')} ${rules.length === 1 ? 'needs' : 'need'} --auth htpasswd:FILE (or auth.htpasswd in the config file): without users to log in, nothing would be protected`)
    return undefined
  }
  if (!auth.startsWith('htpasswd:')) throw new ZregError('USAGE', `--auth takes htpasswd:FILE, not "${auth}"`)
  const htpasswd = auth.slice('htpasswd:'.length)
  if (htpasswd === '') throw new ZregError('USAGE', '--auth htpasswd: names no file; give the htpasswd file after the colon (htpasswd:/etc/zreg/users)')
  const publicGlobs = flags.public ?? fromConfig.public
  const privateGlobs = flags.private ?? fromConfig.private
  for (const glob of publicGlobs ?? []) repositoryGlob(glob, flags.public ? '--public' : 'auth.public in the config file')
  for (const glob of privateGlobs ?? []) repositoryGlob(glob, flags.private ? '--private' : 'auth.private in the config file')
  return {
    htpasswd,
    read: (flags.read ?? fromConfig.read ?? 'anonymous') as 'anonymous' | 'authenticated',
    ...(publicGlobs ? { public: publicGlobs } : {}),
    ...(privateGlobs ? { private: privateGlobs } : {}),
  }
}

export const storeFlag = Flags.string({ description: 'OCI image layout store directory [default: ./zreg-store]', env: 'ZREG_STORE' })
export const overlayFlag = Flags.string({
  description: 'A store stacked on --store (repeat for more, lowest first): where two hold the same repository:tag the later one wins; blobs are shared by digest [default: overlays in the config file]',
  multiple: true,
  // One value per --overlay, so an argument after it stays an argument (zreg ls --overlay DIR REPOSITORY).
  multipleNonGreedy: true,
})
export const redirectFlag = Flags.string({
  description: "Answer the blobs of the repositories PATTERN matches (*: within a name component, **: across) with a 307 to URL ({algorithm}, {hex}, {digest}, {repository}); URL,URL...: mirrors, picked by digest. Repeatable; replaces the config file's redirects",
  helpValue: 'PATTERN=URL',
  multiple: true,
  multipleNonGreedy: true,
})

/** The redirect rules of --redirect, else the config file's `redirects` (none when neither gives any). */
export function redirectRules(flags: string[] | undefined, config: ZregConfig): RedirectRules {
  if (flags !== undefined && flags.length > 0) return compileRedirectRules(flags.map(parseRedirectFlag), '--redirect')
  return compileRedirectRules(config.redirects ?? [], 'redirects in the config file')
}

export const outFlag = Flags.string({ description: 'Directory of the static tree [default: ./zreg-site]', env: 'ZREG_OUT' })

/** `bytes` over `ms` as ", 12.3 MiB/s"; empty for the first half second, when a rate means little. */
export function formatRate(bytes: number, ms: number): string {
  return ms < 500 ? '' : `, ${formatBytes(Math.round((bytes * 1000) / ms))}/s`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
