import { Command, Flags, type Interfaces } from '@oclif/core'
import { loadConfig, type ZregConfig } from '../config.js'
import { asZregError, ZregError } from '../errors.js'
import { LayoutStore } from '../store/layout-store.js'

/** Flags every command takes, and the one place errors become messages and exit codes. */
export abstract class ZregCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({ description: 'Configuration file (JSON; ${VAR} and ${VAR:-default} are substituted from the environment).', env: 'ZREG_CONFIG', helpGroup: 'GLOBAL' }),
  }

  private configCache: ZregConfig | undefined

  protected async config_(flags: { config?: string | undefined }): Promise<ZregConfig> {
    this.configCache ??= await loadConfig(flags.config)
    return this.configCache
  }

  protected async openStore(flag: string | undefined, config: ZregConfig, options: { create?: boolean } = {}): Promise<LayoutStore> {
    return LayoutStore.open(flag ?? config.store ?? './zreg-store', options)
  }

  /** Progress goes to stderr and only to a terminal, so pipes and CI logs stay clean. */
  protected progress(text: string): void {
    if (process.stderr.isTTY && !this.jsonEnabled()) process.stderr.write(`\r\x1b[2K${text}`)
  }

  protected progressDone(): void {
    if (process.stderr.isTTY && !this.jsonEnabled()) process.stderr.write('\r\x1b[2K')
  }

  override async catch(thrown: Interfaces.CommandError): Promise<unknown> {
    // oclif's own errors (bad flags, --help) keep their handling and exit codes.
    if ((thrown as { oclif?: unknown }).oclif !== undefined && !(thrown instanceof Error && thrown.name === 'ZregError')) {
      return super.catch(thrown)
    }
    this.progressDone()
    const error = asZregError(thrown)
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: error.code, ociCode: error.ociCode, message: error.message, hint: error.hint } })
    } else {
      process.stderr.write(`zreg: ${error.message}\n  ${error.hint}\n`)
      if (error.code === 'INTERNAL' && thrown instanceof Error && thrown.stack) process.stderr.write(`${thrown.stack}\n`)
    }
    process.exitCode = error.exitCode
    return undefined
  }
}

/** The flags of every command that runs a server. */
export const listenFlags = {
  port: Flags.integer({ char: 'p', description: 'Port; 0 picks a free one [default: 5000]', env: 'ZREG_PORT' }),
  host: Flags.string({ description: 'Address to bind [default: 127.0.0.1]', env: 'ZREG_HOST' }),
  'tls-cert': Flags.string({ description: 'PEM certificate (chain) for HTTPS', dependsOn: ['tls-key'] }),
  'tls-key': Flags.string({ description: 'PEM private key for HTTPS', dependsOn: ['tls-cert'] }),
  'access-log': Flags.boolean({ description: 'One line per request on stdout [default: true]', allowNo: true }),
}

/** Listen options from the flags, then the config file's `serve` section, then defaults. */
export function listenOptions(flags: { port?: number | undefined; host?: string | undefined; 'tls-cert'?: string | undefined; 'tls-key'?: string | undefined; 'access-log'?: boolean | undefined }, config: ZregConfig) {
  const serveConfig = config.serve ?? {}
  const port = flags.port ?? (serveConfig.port === undefined ? 5000 : Number(serveConfig.port))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ZregError('USAGE', `invalid port ${String(serveConfig.port)}`)
  const cert = flags['tls-cert'] ?? serveConfig.tlsCert
  const key = flags['tls-key'] ?? serveConfig.tlsKey
  return {
    host: flags.host ?? serveConfig.host ?? '127.0.0.1',
    port,
    ...(cert && key ? { tls: { cert, key } } : {}),
    ...((flags['access-log'] ?? serveConfig.accessLog ?? true) ? {} : { accessLog: false as const }),
  }
}

/** Keeps a server running until SIGINT or SIGTERM, then closes it cleanly. */
export async function serveUntilSignal(server: { close(): Promise<void> }, log: (text: string) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => {
      log('zreg: shutting down')
      server.close().then(resolve, resolve)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

export const storeFlag = Flags.string({ description: 'OCI image layout store directory [default: ./zreg-store]', env: 'ZREG_STORE' })
export const outFlag = Flags.string({ description: 'Directory of the static tree (a link to the live build) [default: ./zreg-site]', env: 'ZREG_OUT' })

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
