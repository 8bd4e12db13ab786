import { ZregError } from '../errors.js'
import { isDigest, type Digest } from '../oci/digest.js'
import { isRepository, isTag } from '../oci/reference.js'

/** An image on a registry, as `docker://` names it. */
export interface RemoteReference {
  /** The registry as users name it, host[:port] lowercase host: 'docker.io', 'quay.io', '127.0.0.1:5000'. */
  registry: string
  /** Repository on that registry; docker.io's one-component names get 'library/' as docker does. */
  repository: string
  tag?: string
  /** REPO:TAG@DIGEST keeps both; the digest is what is fetched. */
  digest?: Digest
}

export const dockerHub = 'docker.io'
/** Docker's legacy name for Docker Hub, which docker normalizes to docker.io. */
const dockerHubAliases = new Set(['docker.io', 'index.docker.io'])
// docker's reference grammar for a domain: host name components (or a bracketed IPv6 address) and an optional port.
const domainPattern = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:.]+\])(?::[0-9]{1,5})?$/
/** docker's limit on a whole name (domain/path). */
const maxNameLength = 255

function invalid(text: string, why: string): ZregError {
  return new ZregError('SOURCE_INVALID', `docker://${text}: ${why}`)
}

/** Docker's rule: the first component names a registry when it has a '.' or ':' or is 'localhost'. */
function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[')
}

/** The registry with its host in lowercase (host names are case-insensitive) and Docker Hub's aliases as docker.io. */
export function normalizeRegistry(registry: string): string {
  const lower = registry.toLowerCase()
  return dockerHubAliases.has(lower) ? dockerHub : lower
}

/**
 * Parses what follows `docker://`: `[REGISTRY/]REPO[:TAG][@DIGEST]` by docker's reference rules (the first
 * component is a registry when it has a '.' or ':' or is 'localhost'; else docker.io, where one-component
 * names get 'library/'; index.docker.io is docker.io). Throws SOURCE_INVALID saying what is wrong.
 */
export function parseRemoteReference(text: string): RemoteReference {
  if (text === '') throw invalid(text, 'names no image: write docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST]')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw invalid(text, 'has a second scheme: write docker://HOST/REPO, without http:// or https://')
  if (/\s/.test(text)) throw invalid(text, 'contains white space')
  let rest = text
  let digest: Digest | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    const value = rest.slice(at + 1)
    if (!isDigest(value)) throw invalid(text, `"${value}" after @ is not a digest: write sha256: and 64 lowercase hex digits`)
    digest = value
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/') && colon > rest.lastIndexOf(']')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!isTag(tag)) throw invalid(text, `"${tag}" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128 characters)`)
  }
  const slash = rest.indexOf('/')
  const first = slash < 0 ? rest : rest.slice(0, slash)
  let registry = dockerHub
  let path = rest
  if (slash >= 0 && isRegistryComponent(first)) {
    if (!domainPattern.test(first)) throw invalid(text, `"${first}" is not a valid registry host[:port]`)
    const port = /:(\d+)$/.exec(first)?.[1]
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalid(text, `port ${port} is not between 1 and 65535`)
    registry = normalizeRegistry(first)
    path = rest.slice(slash + 1)
  }
  if (path === '') throw invalid(text, 'names no repository after the registry')
  if (path !== path.toLowerCase() && isRepository(path.toLowerCase())) {
    throw invalid(text, `repository names must be lowercase: "${path}" (try "${path.toLowerCase()}")`)
  }
  if (!isRepository(path)) {
    throw invalid(text, `"${path}" is not a valid repository name (lowercase [a-z0-9] components separated by ".", "_", "__" or "-", joined by "/")`)
  }
  if (registry === dockerHub && !path.includes('/')) path = `library/${path}`
  if (registry.length + 1 + path.length > maxNameLength) throw invalid(text, `the name is longer than ${maxNameLength} characters`)
  return { registry, repository: path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) }
}

/** 'docker.io/library/busybox:1', 'quay.io/x/y@sha256:...', 'host:5000/r:t@sha256:...'. */
export function formatRemoteReference(ref: RemoteReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`
}

/** Where to connect: docker.io -> registry-1.docker.io; others unchanged. */
export function registryEndpoint(registry: string): string {
  return normalizeRegistry(registry) === dockerHub ? 'registry-1.docker.io' : registry
}

/** The host of a host[:port] (an IPv6 address without its brackets). */
export function registryHost(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'))
  const colon = registry.lastIndexOf(':')
  return colon < 0 ? registry : registry.slice(0, colon)
}

/** localhost, 127.0.0.0/8 and ::1: where docker and skopeo allow plain http without being told. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registryHost(registry).toLowerCase()
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
