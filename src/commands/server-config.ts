import * as Flags from '@oclif/core/flags'
import { defaultListen, serverConfig } from '../build/hosts/server-config.js'
import { hostKinds } from '../build/hosts/host-kinds.js'
import { authFlags, authSettings, outFlag, ZregCommand } from '../cli/base-command.js'

interface ServerConfigJson {
  kind: string
  root: string
  files: { name: string; path?: string }[]
  usage: string
}

export default class ServerConfig extends ZregCommand {
  static override summary = 'Print (or write) the web server configuration that serves a built tree.'
  static override description = `Generates the configuration of a web server or host for the tree \`zreg build\` wrote, deployed at --root on the server (default: the tree itself). Nothing in it names a path of the machine that built the tree but --root, and what changes with each build is read from the tree, so the configuration survives rebuilds (some servers need a reload: the usage text says).
Kinds:
${Object.values(hostKinds)
  .map((kind) => `  ${kind.name.padEnd(9)} ${kind.summary}`)
  .join('\n')}
Without --output, prints the files (several: each after a comment line naming it); with --output DIR, writes them there and prints how to run the server.
With --auth htpasswd:FILE (nginx, caddy, apache, htaccess), the server asks for a login itself, as zreg serve --auth does: /v2/ answers 401 so clients know to log in, --read, --public and --private say who may pull what, and the catalog and its page need a login as soon as anything does (a static file cannot list only what a caller may read). FILE is read here and named by its absolute path, where the server must find it (Caddy cannot read it: its users are written into the Caddyfile); it may not lie inside the tree.`

  static override examples = [
    '<%= config.bin %> server-config --for nginx --root /srv/registry --output /etc/nginx/zreg',
    '<%= config.bin %> server-config --for caddy --listen 0.0.0.0:80 > Caddyfile',
    '<%= config.bin %> server-config --for nginx --auth htpasswd:/etc/zreg/users --private \'team/**\' --output /etc/nginx/zreg',
  ]

  static override flags = {
    for: Flags.string({ description: `Host kind: ${Object.keys(hostKinds).join(', ')}`, required: true }),
    out: outFlag,
    root: Flags.string({ description: 'Absolute path the tree is deployed at on the server [default: the tree\'s own path]' }),
    listen: Flags.string({ description: `Address a complete configuration listens on: PORT or HOST:PORT [default: ${defaultListen}]` }),
    output: Flags.string({ description: 'Directory to write the files to (instead of printing them)' }),
    ...authFlags,
  }

  async run(): Promise<ServerConfigJson> {
    const { flags } = await this.parse(ServerConfig)
    const config = await this.config_(flags)
    const auth = authSettings(flags, config)
    const result = await serverConfig({
      kind: flags.for,
      tree: flags.out ?? config.out ?? './zreg-site',
      ...(flags.root === undefined ? {} : { root: flags.root }),
      ...(flags.listen === undefined ? {} : { listen: flags.listen }),
      ...(flags.output === undefined ? {} : { output: flags.output }),
      ...(auth ? { auth } : {}),
    })
    const files = result.files.map((file, i) => ({ name: file.name, ...(result.written ? { path: result.written[i]! } : {}) }))
    if (!this.jsonEnabled()) {
      if (result.written) {
        for (const path of result.written) this.log(`wrote ${path}`)
        this.log(`\n${result.usage}`)
      } else if (result.files.length === 1) {
        process.stdout.write(result.files[0]!.contents)
      } else {
        for (const file of result.files) process.stdout.write(`# ---- ${file.name}\n${file.contents}`)
      }
    }
    return { kind: result.kind, root: result.root, files, usage: result.usage }
  }
}
