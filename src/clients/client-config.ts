import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ZregError } from '../errors.js'
import { makeDirectory, writeFileAtomic } from '../store/atomic.js'
import { checkRegistryHost, registryComponent } from '../oci/reference.js'

/** The container clients `zreg client-config` writes for. */
export const clientKinds = ['podman', 'cri-o', 'containerd', 'docker'] as const
export type ClientKind = (typeof clientKinds)[number]

/** An upstream registry the mirror stands in front of: its name in image references, and its own server. */
export interface Upstream {
  /** As images name it: `docker.io`, `quay.io`, `registry.example.com:5000`. */
  registry: string
  /** Where the registry itself answers (what a client falls through to), when not https://<registry> (for docker.io https://registry-1.docker.io). */
  server?: URL
}

/** The server of an upstream, as containerd's hosts.toml names it. */
function serverOf(upstream: Upstream): string {
  if (upstream.server !== undefined) return upstream.server.href.replace(/\/$/, '')
  return upstream.registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${upstream.registry}`
}

/** One file of a client's configuration. */
export interface ClientFile {
  /** Where the client reads it, on a default install. */
  installPath: string
  /** Its path under --output. */
  name: string
  contents: string
}

export interface ClientConfig {
  kind: ClientKind
  files: ClientFile[]
  /** What to do with the files, and what the client cannot do. */
  usage: string
}

/**
 * `REGISTRY` or `REGISTRY=URL` (the registry's own server, when it is not https://REGISTRY) as an
 * Upstream; USAGE for anything else.
 */
export function parseUpstream(text: string): Upstream {
  const [name, server] = text.includes('=') ? [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)] : [text, undefined]
  const registry = checkRegistryHost(name!, 'registry in --registries')
  // The tree names the registry as the first component of a repository name: lowercase, no brackets.
  if (registry !== registry.toLowerCase() || registry.startsWith('[')) {
    throw new ZregError('USAGE', `registry "${registry}" in --registries cannot head a repository name in the tree: give it in lowercase, by a host name or IPv4 address`)
  }
  return server === undefined ? { registry } : { registry, server: httpUrl(server, `the server of ${registry} in --registries`) }
}

/**
 * A registry's address, http(s)://HOST[:PORT]; USAGE for anything else. The registry API lives at a
 * host's root (/v2/): a path would mean a namespace to podman and a URL prefix to containerd.
 */
function httpUrl(text: string, what: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ZregError('USAGE', `${what} "${text}" is not a URL: expected http://HOST[:PORT] or https://HOST[:PORT]`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ZregError('USAGE', `${what} "${text}" must be an http:// or https:// URL without credentials, query or fragment`)
  }
  if (url.pathname !== '/') throw new ZregError('USAGE', `${what} "${text}" has a path: a registry answers at the root of its host (/v2/), so give http(s)://HOST[:PORT]`)
  return url
}

/** `host:port[/namespace]` of a URL, as registries.conf names a location (no scheme; http is `insecure`). */
function location(url: URL, ...components: string[]): string {
  return [url.host, ...components].join('/')
}

/**
 * containers-registries.conf(5) (podman, buildah, skopeo, CRI-O): per upstream, a `[[registry]]` whose
 * mirror is the zreg tree's namespace for it (`HOST:PORT/docker.io`: the tree holds
 * `docker.io/library/alpine`, as `zreg add --scoped` and `zreg sync` with `scoped` store it). A pull tries
 * the mirror first and the registry itself after it.
 */
function registriesConf(mirror: URL, upstreams: Upstream[], kind: ClientKind): string {
  const lines = [`# zreg client-config --for ${kind}: pulls from ${upstreams.map((upstream) => upstream.registry).join(', ')} try the zreg mirror ${mirror.origin} first.`]
  for (const upstream of upstreams) {
    lines.push('', '[[registry]]', `prefix = "${upstream.registry}"`, `location = "${upstream.server === undefined ? upstream.registry : location(upstream.server)}"`)
    if (upstream.server?.protocol === 'http:') lines.push('insecure = true')
    lines.push('', '[[registry.mirror]]', `location = "${location(mirror, registryComponent(upstream.registry))}"`)
    if (mirror.protocol === 'http:') lines.push('insecure = true')
  }
  return `${lines.join('\n')}\n`
}

/**
 * containerd's hosts directory (`/etc/containerd/certs.d/<registry>/hosts.toml`): the zreg mirror for
 * pull and resolve, then the registry's own server. containerd names the registry in `?ns=`, which zreg
 * answers from the tree's namespace for it (README: containerd mirrors).
 */
function hostsToml(mirror: URL, upstream: Upstream): string {
  return `# zreg client-config --for containerd: pulls from ${upstream.registry} try the zreg mirror first.
server = "${serverOf(upstream)}"

[host."${mirror.href.replace(/\/$/, '')}"]
  capabilities = ["pull", "resolve"]
`
}

/**
 * The client configuration that makes pulls from `upstreams` go to the zreg tree at `url` first, and to
 * each registry itself when the tree lacks the image (every miss is a 404, which every client takes as
 * "try the next"). docker only mirrors docker.io, by plain names: USAGE for another upstream.
 */
export function clientConfig(kind: string, url: string, upstreams: Upstream[]): ClientConfig {
  if (!(clientKinds as readonly string[]).includes(kind)) throw new ZregError('USAGE', `unknown client "${kind}": expected one of ${clientKinds.join(', ')}`)
  const mirror = httpUrl(url, '--url')
  if (upstreams.length === 0) throw new ZregError('USAGE', '--registries names no registry')
  const twice = upstreams.find((upstream, i) => upstreams.findIndex((other) => other.registry === upstream.registry) !== i)
  if (twice !== undefined) throw new ZregError('USAGE', `--registries names ${twice.registry} twice`)
  switch (kind as ClientKind) {
    case 'podman':
    case 'cri-o': {
      const name = '50-zreg-mirror.conf'
      return {
        kind: kind as ClientKind,
        files: [{ installPath: `/etc/containers/registries.conf.d/${name}`, name, contents: registriesConf(mirror, upstreams, kind as ClientKind) }],
        usage:
          kind === 'podman'
            ? `Copy ${name} to /etc/containers/registries.conf.d/ (or ~/.config/containers/registries.conf.d/ for rootless podman); podman, buildah and skopeo read it at their next start. The tree must hold each registry's images under its name (docker.io/library/alpine): zreg add --scoped, or scoped in the sync file.`
            : `Copy ${name} to /etc/containers/registries.conf.d/ on every node and reload CRI-O (systemctl reload crio). The tree must hold each registry's images under its name (docker.io/library/alpine): zreg add --scoped, or scoped in the sync file.`,
      }
    }
    case 'containerd':
      return {
        kind: 'containerd',
        files: upstreams.map((upstream) => ({ installPath: `/etc/containerd/certs.d/${upstream.registry}/hosts.toml`, name: `${upstream.registry}/hosts.toml`, contents: hostsToml(mirror, upstream) })),
        usage:
          'Copy each REGISTRY/hosts.toml to /etc/containerd/certs.d/ (containerd reads it at each pull, given config_path = "/etc/containerd/certs.d" in its CRI registry section; ctr: --hosts-dir /etc/containerd/certs.d). The tree may hold a registry\'s images under its name (docker.io/library/alpine) or under plain names.',
      }
    case 'docker': {
      const other = upstreams.find((upstream) => upstream.registry !== 'docker.io')
      if (other !== undefined) throw new ZregError('USAGE', `docker mirrors docker.io only (registry-mirrors), not ${other.registry}: use --registries docker.io, or another client`)
      if (upstreams[0]!.server !== undefined) throw new ZregError('USAGE', 'docker takes no server for docker.io (--registries docker.io=URL): it always falls back to docker.io itself')
      const settings = { 'registry-mirrors': [mirror.href.replace(/\/$/, '')], ...(mirror.protocol === 'http:' ? { 'insecure-registries': [mirror.host] } : {}) }
      return {
        kind: 'docker',
        files: [{ installPath: '/etc/docker/daemon.json', name: 'daemon.json', contents: `${JSON.stringify(settings, null, 2)}\n` }],
        usage:
          'Merge daemon.json into /etc/docker/daemon.json and restart dockerd. docker asks a mirror for docker.io images by plain names (/v2/library/alpine/...) and names no registry, so the tree must hold them unscoped (library/alpine: zreg add without --scoped); a docker.io image the tree lacks is pulled from docker.io.',
      }
    }
  }
}

/**
 * Writes the files under `dir` (each atomically); returns their paths, in order. A file there already
 * with other contents is not replaced (OUTPUT_EXISTS, before anything is written): daemon.json holds the
 * daemon's other settings, to be merged by hand.
 */
export async function writeClientConfig(config: ClientConfig, dir: string): Promise<string[]> {
  if (dir === '') throw new ZregError('USAGE', '--output names no directory')
  for (const file of config.files) {
    const path = join(dir, file.name)
    const current = await readFile(path, 'utf8').catch(() => undefined)
    if (current !== undefined && current !== file.contents) throw new ZregError('OUTPUT_EXISTS', `${path} exists with other contents: merge ${file.name} into it by hand, or remove it and run again`)
  }
  const written: string[] = []
  for (const file of config.files) {
    const path = join(dir, file.name)
    await makeDirectory(dirname(path))
    await writeFileAtomic(path, file.contents)
    written.push(path)
  }
  return written
}
