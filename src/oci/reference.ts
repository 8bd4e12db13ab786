import { ZregError } from '../errors.js'
import { isDigest, type Digest } from './digest.js'

// The distribution-spec grammar: lowercase components joined by "/", tags of word characters.
const componentPattern = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
/** The repository grammar as regular-expression source (no anchors), for server configs that route by it. */
export const repositorySource = `${componentPattern}(?:/${componentPattern})*`
const repositoryPattern = new RegExp(`^${repositorySource}$`)
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const maxRepositoryLength = 255

export const defaultTag = 'latest'

/**
 * A registry (`host[:port]`) as the first component of a repository name, for stores and trees that
 * mirror several registries (skopeo sync --scoped, containerd's `?ns=`): a port cannot be part of a
 * name, so `localhost:5000` becomes `localhost-5000`.
 */
export function registryComponent(registry: string): string {
  return registry.replace(/:(\d+)$/, '-$1')
}

// The registry host of a reference as docker parses it (distribution/reference's domain): names, an IPv4
// address or a bracketed IPv6 one, and an optional port.
const registryHostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/

/** `host[:port]` as the first part of `docker pull HOST/REPO:TAG`; USAGE (naming `what`) otherwise. */
export function checkRegistryHost(host: string, what: string): string {
  if (registryHostPattern.test(host)) return host
  throw new ZregError('USAGE', `invalid ${what} "${host}": expected the registry's HOST or HOST:PORT as docker pull names it, e.g. registry.example.com (no scheme, no path)`)
}

export function isRepository(name: string): boolean {
  return name.length <= maxRepositoryLength && repositoryPattern.test(name)
}

export function isTag(tag: string): boolean {
  return tagPattern.test(tag)
}

export function checkRepository(name: string): string {
  if (!isRepository(name)) throw new ZregError('NAME_INVALID', `invalid repository name "${name}"`)
  return name
}

export function checkTag(tag: string): string {
  if (!isTag(tag)) throw new ZregError('TAG_INVALID', `invalid tag "${tag}"`)
  return tag
}

/** REPO, REPO:TAG or REPO@DIGEST, as a user or an index.json ref name writes it. */
export interface ImageReference {
  repository: string
  tag?: string
  digest?: Digest
}

export function parseImageReference(text: string, options: { defaultTag?: string } = {}): ImageReference {
  const at = text.indexOf('@')
  if (at >= 0) {
    const repository = checkRepository(text.slice(0, at))
    const digest = text.slice(at + 1)
    // A reference a user typed, not content that failed its hash: DIGEST_INVALID's hint would mislead.
    if (!isDigest(digest)) throw new ZregError('USAGE', `"${text}": after @ comes a digest, ALGORITHM:HEX (sha256: and 64 lowercase hex digits)`)
    return { repository, digest }
  }
  const colon = text.lastIndexOf(':')
  if (colon > text.lastIndexOf('/')) {
    return { repository: checkRepository(text.slice(0, colon)), tag: checkTag(text.slice(colon + 1)) }
  }
  const repository = checkRepository(text)
  return options.defaultTag === undefined ? { repository } : { repository, tag: options.defaultTag }
}

export function formatImageReference(ref: ImageReference): string {
  if (ref.digest !== undefined) return `${ref.repository}@${ref.digest}`
  return ref.tag === undefined ? ref.repository : `${ref.repository}:${ref.tag}`
}

/** A manifest of a repository: `repository:tag`, or `repository@digest`. */
export interface ManifestReference {
  repository: string
  /** A tag, or a digest. */
  reference: string
}

/** `REPO:TAG` or `REPO@DIGEST` as a reference; NAME_INVALID, TAG_INVALID or DIGEST_INVALID otherwise. */
export function parseManifestReference(text: string, what: string): ManifestReference {
  const at = text.indexOf('@')
  if (at >= 0) {
    const reference = text.slice(at + 1)
    if (!isDigest(reference)) throw new ZregError('DIGEST_INVALID', `${what} ${JSON.stringify(text)}: "${reference}" is not a digest (sha256:<64 hex>)`)
    return { repository: checkRepository(text.slice(0, at)), reference }
  }
  const colon = text.lastIndexOf(':')
  if (colon <= text.lastIndexOf('/')) throw new ZregError('TAG_INVALID', `${what} ${JSON.stringify(text)} names no tag: write REPOSITORY:TAG or REPOSITORY@DIGEST`)
  return { repository: checkRepository(text.slice(0, colon)), reference: checkTag(text.slice(colon + 1)) }
}
