import { Flags } from '@oclif/core'
import { parsePlatform } from '../oci/platform.js'
import { ZregError } from '../errors.js'
import { AccessControl } from '../server/auth/access-control.js'
import { Htpasswd } from '../server/auth/htpasswd.js'
import { startPushServer } from '../server/http-server.js'
import { listenFlags, listenOptions, outFlag, serveUntilSignal, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Push extends ZregCommand {
  static override summary = 'Run a registry-compatible upload target that writes the store and rebuilds the tree.'
  static override description = `Push (dev) mode: \`skopeo copy\`, \`podman push\` and \`docker push\` upload into it as into a registry. Blobs are hashed as they arrive and published into the store only once whole and verified; every accepted manifest rebuilds the static tree (--out) before the client is answered, so a pull from the tree right after a push sees it. Reads are the registry's full API, served from the store.
Uploads resume after a broken connection and after a restart; abandoned ones are purged after --upload-expiry hours.`

  static override examples = [
    '<%= config.bin %> push --port 5000',
    'skopeo copy --dest-tls-verify=false oci:./layout:1.0 docker://127.0.0.1:5000/app:1.0',
  ]

  static override flags = {
    ...listenFlags,
    store: storeFlag,
    out: outFlag,
    'default-platform': Flags.string({ description: 'Manifest a tag naming an index serves to clients that accept no index [default: linux/amd64]' }),
    'upload-expiry': Flags.integer({ description: 'Hours after which an untouched upload session is purged', default: 24, min: 1 }),
    auth: Flags.string({ description: 'Access control: htpasswd:FILE (bcrypt entries, as htpasswd -B writes); Basic auth and Docker tokens' }),
    read: Flags.string({ description: 'With --auth: who may pull [default: anonymous]', options: ['anonymous', 'authenticated'] }),
    notify: Flags.string({ description: 'Webhook URL told of pushes, tags and deletes (repeatable; more options in the config file)', multiple: true }),
    namespaced: Flags.boolean({ description: 'The first path component names the upstream registry (/v2/docker.io/library/alpine); namespaces are kept apart' }),
    'max-uploads': Flags.integer({ description: 'Upload requests running at once before clients are told 503 with Retry-After', default: 64, min: 1 }),
  }

  async run(): Promise<{ url: string; port: number }> {
    const { flags } = await this.parse(Push)
    const config = await this.config_(flags)
    const store = await this.openStore(flags.store, config)
    const out = flags.out ?? config.out ?? './zreg-site'
    const platform = flags['default-platform'] ?? config.defaultPlatform
    const auth = flags.auth ?? (config.auth?.htpasswd ? `htpasswd:${config.auth.htpasswd}` : undefined)
    if (auth !== undefined && !auth.startsWith('htpasswd:')) throw new ZregError('USAGE', `--auth takes htpasswd:FILE, not "${auth}"`)
    const access = auth === undefined
      ? undefined
      : new AccessControl({
          users: await Htpasswd.load(auth.slice('htpasswd:'.length)),
          read: (flags.read ?? config.auth?.read ?? 'anonymous') as 'anonymous' | 'authenticated',
          ...(config.auth?.writers ? { writers: config.auth.writers } : {}),
          ...(config.auth?.tokenSecret ? { tokenSecret: config.auth.tokenSecret } : {}),
        })
    const server = await startPushServer({
      ...(access ? { access } : {}),
      store,
      out,
      ...(platform ? { defaultPlatform: parsePlatform(platform) } : {}),
      uploadExpiryMs: flags['upload-expiry'] * 60 * 60 * 1000,
      maxUploads: flags['max-uploads'],
      ...(flags.namespaced ? { namespaced: true } : {}),
      notifications: [...(config.notifications ?? []), ...(flags.notify ?? []).map((url) => ({ url }))],
      ...listenOptions(flags, config),
    })
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`)
    } else {
      this.logToStderr(`zreg: push mode at ${server.url} (port ${server.port}), store ${store.location}, tree ${out}`)
      const authority = server.url.replace(/^https?:\/\//, '')
      this.logToStderr(`try:  skopeo copy ${server.url.startsWith('http:') ? '--dest-tls-verify=false ' : ''}oci:LAYOUT:REF docker://${authority}/REPO:TAG`)
    }
    await serveUntilSignal(server, (text) => this.logToStderr(text))
    return { url: server.url, port: server.port }
  }
}
