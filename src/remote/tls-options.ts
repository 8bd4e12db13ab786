import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import { systemError, ZregError } from '../errors.js'

/** What undici's `connect` takes for TLS. */
export interface TlsOptions {
  rejectUnauthorized: boolean
  /** The system CAs plus the cert dir's *.crt; undefined: Node's defaults. */
  ca?: string[]
  cert?: string
  key?: string
  /** The directory read, for messages. */
  certDir?: string
}

/** Where docker and containers/image look for a registry's certificates when no --cert-dir is given. */
export const defaultCertDirRoots = ['/etc/containers/certs.d', '/etc/docker/certs.d']

async function listDir(dir: string, explicit: boolean): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).sort()
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw systemError(error, dir, '--cert-dir') ?? error
  }
}

/**
 * TLS options as skopeo's --cert-dir gives them (containers-certs.d(5)): *.crt are CAs added to the
 * system ones, NAME.cert with NAME.key a client certificate. Without certDir: /etc/containers/certs.d/
 * <registry>, then /etc/docker/certs.d/<registry>, when present. tlsVerify false accepts any certificate.
 * Throws PATH_NOT_FOUND (an explicit certDir that is missing) or TLS_FAILED (a .cert without its .key).
 */
export async function loadTlsOptions(registry: string, options: { certDir?: string; tlsVerify?: boolean; roots?: string[] }): Promise<TlsOptions> {
  const rejectUnauthorized = options.tlsVerify !== false
  let dir: string | undefined
  let names: string[] | undefined
  if (options.certDir !== undefined) {
    dir = options.certDir
    names = await listDir(dir, true)
  } else {
    for (const root of options.roots ?? defaultCertDirRoots) {
      names = await listDir(join(root, registry), false)
      if (names !== undefined) {
        dir = join(root, registry)
        break
      }
    }
  }
  if (dir === undefined || names === undefined) return { rejectUnauthorized }
  const result: TlsOptions = { rejectUnauthorized, certDir: dir }
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name), 'utf8')
    } catch (error) {
      throw systemError(error, join(dir, name), 'a certificate of the --cert-dir') ?? error
    }
  }
  const cas = names.filter((name) => name.endsWith('.crt'))
  if (cas.length > 0) result.ca = [...rootCertificates, ...(await Promise.all(cas.map(read)))]
  for (const name of names.filter((n) => n.endsWith('.cert'))) {
    const keyName = `${name.slice(0, -'.cert'.length)}.key`
    if (!names.includes(keyName)) throw new ZregError('TLS_FAILED', `${join(dir, name)} is a client certificate without its key: put ${keyName} beside it`)
    if (result.cert !== undefined) continue // containers/image uses the first pair too
    result.cert = await read(name)
    result.key = await read(keyName)
  }
  for (const name of names.filter((n) => n.endsWith('.key'))) {
    const certName = `${name.slice(0, -'.key'.length)}.cert`
    if (!names.includes(certName)) throw new ZregError('TLS_FAILED', `${join(dir, name)} is a client key without its certificate: put ${certName} beside it`)
  }
  return result
}
