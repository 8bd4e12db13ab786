import { Args, Flags } from '@oclif/core'
import { ZregError } from '../errors.js'
import { startStaticServer } from '../server/http-server.js'
import { ZregCommand } from '../cli/base-command.js'

export default class Serve extends ZregCommand {
  static override summary = 'Serve a built tree as a read-only registry.'
  static override description = `Answers the distribution-spec pull API from the tree \`zreg build\` wrote: exact Content-Type, Docker-Content-Digest and Content-Length, Range requests, ETags, OCI error bodies. A rebuild is picked up without a restart.
Binds 127.0.0.1 unless --host says otherwise; clients accept plain HTTP only for localhost, so use --tls-cert/--tls-key for anything else.`

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve ./zreg-site --port 0',
    '<%= config.bin %> serve --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem',
  ]

  static override args = {
    dir: Args.string({ description: 'The tree to serve (the --out of zreg build) [default: ./zreg-site]' }),
  }

  static override flags = {
    port: Flags.integer({ char: 'p', description: 'Port; 0 picks a free one [default: 5000]', env: 'ZREG_PORT' }),
    host: Flags.string({ description: 'Address to bind [default: 127.0.0.1]', env: 'ZREG_HOST' }),
    'tls-cert': Flags.string({ description: 'PEM certificate (chain) for HTTPS', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'PEM private key for HTTPS', dependsOn: ['tls-cert'] }),
    'access-log': Flags.boolean({ description: 'One line per request on stdout [default: true]', allowNo: true }),
  }

  async run(): Promise<{ url: string; port: number }> {
    const { args, flags } = await this.parse(Serve)
    const config = await this.config_(flags)
    const serveConfig = config.serve ?? {}
    const port = flags.port ?? (serveConfig.port === undefined ? 5000 : Number(serveConfig.port))
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ZregError('USAGE', `invalid port ${String(serveConfig.port)}`)
    const cert = flags['tls-cert'] ?? serveConfig.tlsCert
    const key = flags['tls-key'] ?? serveConfig.tlsKey
    const out = args.dir ?? config.out ?? './zreg-site'
    const server = await startStaticServer({
      out,
      host: flags.host ?? serveConfig.host ?? '127.0.0.1',
      port,
      ...(cert && key ? { tls: { cert, key } } : {}),
      ...((flags['access-log'] ?? serveConfig.accessLog ?? true) ? {} : { accessLog: false as const }),
    })
    const authority = server.url.replace(/^https?:\/\//, '')
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`)
    } else {
      this.logToStderr(`zreg: serving ${out} at ${server.url} (port ${server.port})`)
      for (const image of server.registry.examples(1)) {
        const tls = server.url.startsWith('http:') ? '--src-tls-verify=false ' : ''
        this.logToStderr(`try:  skopeo copy ${tls}docker://${authority}/${image} oci:/tmp/zreg-pull:latest`)
        this.logToStderr(`      podman pull ${server.url.startsWith('http:') ? '--tls-verify=false ' : ''}${authority}/${image}`)
      }
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        this.logToStderr('zreg: shutting down')
        server.close().then(resolve, resolve)
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    return { url: server.url, port: server.port }
  }
}
