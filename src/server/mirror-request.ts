import { isRepository, registryComponent } from '../oci/reference.js'
import { routePattern } from './read-routes.js'

/** A registry host as containerd names it in `?ns=`: lowercase DNS labels, an optional port. */
const registryHostPattern = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/

/**
 * The repositories that may answer a mirror request for `name` from registry `ns`, best first:
 * `<ns>/<name>` (a tree or store whose first path component names the registry, a port joined with
 * "-" as `zreg add --scoped` stores it: `localhost-5000/<name>`), for docker.io also `docker.io/<name>`
 * without the `library/` containerd adds to official images, then `<name>` itself (a tree that mirrors
 * one registry under plain names).
 */
export function mirrorCandidates(ns: string, name: string): string[] {
  const candidates = [`${registryComponent(ns)}/${name}`]
  if (ns === 'docker.io' && name.startsWith('library/')) candidates.push(`docker.io/${name.slice('library/'.length)}`)
  candidates.push(name)
  return candidates.filter(isRepository)
}

/**
 * containerd's `hosts.toml` mirrors ask for `/v2/<name>/{manifests,blobs,tags,referrers}/...?ns=<registry>`,
 * the name without the registry it comes from (remotes/docker: `request.addNamespace`). Returns the
 * request path on the repository that answers: the first of `mirrorCandidates` the view has, else
 * the first candidate (`<ns>/<name>`), so a missing image is 404 (containerd before 1.5 tries the next host only on a 404,
 * never on a 400). Undefined when the request names no registry (no or a malformed `ns`) or is no
 * repository route: it is served as it is.
 */
export function mirrorPath(path: string, query: URLSearchParams, hasRepository: (name: string) => boolean): string | undefined {
  const ns = query.get('ns')
  if (ns === null || !registryHostPattern.test(ns)) return undefined
  const match = routePattern.exec(path)
  if (!match) return undefined
  const [, name, kind, reference] = match as unknown as [string, string, string, string]
  const candidates = mirrorCandidates(ns, name)
  const repository = candidates.find(hasRepository) ?? candidates[0] ?? name
  return `/v2/${repository}/${kind}/${reference}`
}
