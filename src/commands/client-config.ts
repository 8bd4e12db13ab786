import * as Flags from '@oclif/core/flags'
import { clientConfig, clientKinds, parseUpstream, writeClientConfig } from '../clients/client-config.js'
import { ZregCommand } from '../cli/base-command.js'

interface ClientConfigJson {
  kind: string
  files: { installPath: string; name: string; path?: string; contents: string }[]
  usage: string
}

export default class ClientConfig extends ZregCommand {
  static override summary = 'Print (or write) the client configuration that pulls through a zreg mirror.'
  static override description = `Generates what makes a container client (podman and CRI-O: registries.conf; containerd: hosts.toml; docker: daemon.json) pull images of the upstream registries (--registries) from the zreg tree at --url first, and from each registry itself when the tree lacks an image: the tree answers every miss with a 404, which clients take as "try the next".
A tree that mirrors several registries names each first (docker.io/library/alpine, quay.io/team/app), as zreg add --scoped stores them; docker mirrors docker.io only, by plain names.
Without --output, prints the file (several: each after a comment line naming where it goes); with --output DIR, writes them there, refusing to replace a file that holds other contents (daemon.json: merge it by hand).`

  static override examples = [
    '<%= config.bin %> client-config --for podman --url https://mirror.example.com --registries docker.io,quay.io',
    '<%= config.bin %> client-config --for containerd --url http://10.0.0.5:5000 --output /etc/containerd/certs.d',
    '<%= config.bin %> client-config --for docker --url https://mirror.example.com',
  ]

  static override flags = {
    for: Flags.string({ description: `Client: ${clientKinds.join(', ')}`, required: true }),
    url: Flags.string({ description: 'Where the tree is served: http(s)://HOST[:PORT]', required: true }),
    registries: Flags.string({ description: 'Upstream registries, comma-separated; REGISTRY=URL names a registry\'s own server when it is not https://REGISTRY [default: docker.io]' }),
    output: Flags.string({ description: 'Directory to write the files to (instead of printing them)' }),
  }

  async run(): Promise<ClientConfigJson> {
    const { flags } = await this.parse(ClientConfig)
    const upstreams = (flags.registries ?? 'docker.io').split(',').filter((item) => item !== '').map(parseUpstream)
    const config = clientConfig(flags.for, flags.url, upstreams)
    const written = flags.output === undefined ? [] : await writeClientConfig(config, flags.output)
    if (!this.jsonEnabled()) {
      if (flags.output !== undefined) {
        for (const path of written) this.log(`wrote ${path}`)
        this.log(`\n${config.usage}`)
      } else if (config.files.length === 1) {
        process.stdout.write(config.files[0]!.contents)
      } else {
        for (const file of config.files) process.stdout.write(`# ---- ${file.installPath}\n${file.contents}`)
      }
    }
    return { kind: config.kind, files: config.files.map((file, i) => ({ ...file, ...(written[i] === undefined ? {} : { path: written[i] }) })), usage: config.usage }
  }
}
