import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { resolve } from 'node:path'
import { htpasswdOutside } from '../access/htpasswd-file.js'
import { ZregError } from '../errors.js'
import { availableParallelism } from 'node:os'
import { handoffFile, writeHandoff } from '../cli/handoff.js'
import { serveTree, type ServeTreeSettings } from '../cli/serve-tree.js'
import { serveSettings } from '../server/serve-settings.js'
import { pushFlags, runPushCommand } from './push.js'
import { authFlags, authSettings, listenFlags, listenOptions, redirectFlag, redirectRules, ZregCommand } from '../cli/base-command.js'

export default class Serve extends ZregCommand {
  static override summary = 'Serve a built tree as a read-only registry (or, with --push, run push mode).'
  static override description = `Answers the distribution-spec pull API from the tree \`zreg build\` wrote: exact Content-Type, Docker-Content-Digest and Content-Length, Range requests, ETags, OCI error bodies; / and /index.html answer with the tree's catalog page, for browsers. A rebuild is picked up without a restart.
With --workers N (default: one per CPU), N processes serve from the one port, each picking up a rebuild.
Blobs the build redirected are answered with their redirect; --redirect (or redirects in the config file) redirects blobs the tree holds as well, without a rebuild.
Binds 127.0.0.1 unless --host says otherwise; clients accept plain HTTP only for localhost, so use --tls-cert/--tls-key for anything else.
--auth htpasswd:FILE (or auth in the config file) asks for Basic credentials as a web server's own Basic auth does: /v2/ answers 401 so clients log in (docker login, podman login, skopeo --creds); --read authenticated closes every repository to anonymous clients and --private GLOB some of them (--public GLOB opens some again); the catalog lists only what the caller may read. The htpasswd file must be outside the tree.
--push runs \`zreg push\` (an upload target that writes the store and rebuilds the tree) and takes its flags (see \`zreg push --help\`); DIR is then the tree it keeps current, as --out.`

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve ./zreg-site --port 0',
    '<%= config.bin %> serve --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem',
    '<%= config.bin %> serve --auth htpasswd:/etc/zreg/users.htpasswd --private "team/**"',
    '<%= config.bin %> serve --push --store ./zreg-store --out ./zreg-site',
  ]

  static override args = {
    dir: Args.string({ description: 'The tree to serve (the --out of zreg build; with --push, the tree kept current) [default: ./zreg-site]' }),
  }

  static override flags = {
    ...listenFlags,
    redirect: redirectFlag,
    ...authFlags,
    workers: Flags.integer({ description: 'Processes serving at once, sharing the port (node:cluster); each picks up a rebuild [default: the CPU count]', min: 1, max: 64, env: 'ZREG_SERVE_WORKERS' }),
    push: Flags.boolean({ description: 'Push (dev) mode: the same as `zreg push`' }),
    store: Flags.string({ description: 'With --push: the store [default: ./zreg-store]', env: 'ZREG_STORE' }),
    out: Flags.string({ description: 'With --push: the tree kept current [default: ./zreg-site]', env: 'ZREG_OUT' }),
  }

  async run(): Promise<{ url: string; port: number } | undefined> {
    // Push mode takes push's flags, so it is parsed with them; DIR means what --out means there.
    if (this.argv.includes('--push')) {
      const { args, flags } = await this.parse({ args: Serve.args, flags: { ...pushFlags, push: Serve.flags.push }, baseFlags: Serve.baseFlags, enableJsonFlag: true, strict: true })
      if (args.dir !== undefined && flags.out !== undefined && resolve(args.dir) !== resolve(flags.out)) {
        throw new ZregError('USAGE', `with --push, DIR and --out both name the tree kept current, and they differ (${args.dir}, ${flags.out}); give one`)
      }
      const out = args.dir ?? flags.out
      return runPushCommand(this, { ...flags, ...(out === undefined ? {} : { out }) })
    }
    const { args, flags } = await this.parse(Serve)
    const config = await this.config_(flags)
    const out = args.dir ?? config.out ?? './zreg-site'
    const auth = authSettings(flags, config)
    if (auth !== undefined) await htpasswdOutside(auth.htpasswd, [out])
    const serve = { out, redirects: redirectRules(flags.redirect, config), ...listenOptions(flags, config, { json: this.jsonEnabled() }), ...(auth ? { auth } : {}) }
    const workers = flags.workers ?? config.serve?.workers ?? availableParallelism()
    const settings: ServeTreeSettings = { serve: serveSettings(serve), workers, json: this.jsonEnabled() }
    // Started by bin/run.js: the server runs in the program it execs next, without the CLI.
    const handoff = handoffFile()
    if (handoff !== undefined) {
      writeHandoff(handoff, { kind: 'serve', settings }, [])
      return undefined
    }
    const server = await serveTree(settings)
    // Under --json the start-up line was the result; another object at exit would break JSON lines.
    return this.jsonEnabled() ? undefined : server
  }
}
