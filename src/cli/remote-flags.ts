import * as Flags from '@oclif/core/flags'
import type { RemoteOptions } from '../ingest/registry-source.js'
import { parseCreds } from '../remote/credentials.js'

/** The flags of the commands that read from registries, as skopeo spells them. */
export const remoteFlags = {
  creds: Flags.string({ description: 'USER[:PASS] for the source registry (USER alone: the password from ZREG_PASSWORD); without it, auth.json and ~/.docker/config.json are read', env: 'ZREG_CREDS', helpGroup: 'REGISTRY' }),
  'tls-verify': Flags.string({ description: 'false: accept any certificate and allow plain http (loopback registries get http anyway)', options: ['true', 'false'], helpGroup: 'REGISTRY' }),
  'cert-dir': Flags.string({ description: 'CA certificates (*.crt) and a client certificate (*.cert + *.key) for the registry [default: /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST]', helpGroup: 'REGISTRY' }),
  jobs: Flags.integer({ char: 'j', description: 'Blob downloads at once [default: 8]', min: 1, max: 64, helpGroup: 'REGISTRY' }),
}

/** RemoteOptions from the flags above; USAGE when --creds is malformed. */
export function remoteOptions(flags: { creds?: string | undefined; 'tls-verify'?: string | undefined; 'cert-dir'?: string | undefined; jobs?: number | undefined }, env: NodeJS.ProcessEnv = process.env): RemoteOptions {
  return {
    ...(flags.creds !== undefined ? { creds: parseCreds(flags.creds, env) } : {}),
    ...(flags['tls-verify'] !== undefined ? { tlsVerify: flags['tls-verify'] === 'true' } : {}),
    ...(flags['cert-dir'] !== undefined ? { certDir: flags['cert-dir'] } : {}),
    jobs: flags.jobs ?? 8,
    env,
  }
}
