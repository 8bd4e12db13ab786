/**
 * Which names the /v2 URL space (distribution-spec "Endpoints") cannot hold once it is written out as a
 * file tree, as plain file servers and buckets serve it: `/v2/<name>/tags/list` and
 * `/v2/<name>/manifests/<tag>` are files, so no repository may need a directory at those paths.
 * Everything else nests: a repository `app/blobs` beside `app`'s blob files is fine (blob, manifest
 * and referrer files are named by digest, and a digest's ":" is never in a repository name).
 */

/** The directories of a repository's part of the URL space. */
export const repositoryParts = ['manifests', 'blobs', 'tags', 'referrers'] as const

export interface TreeCollision {
  /** The nested repository the tree cannot hold beside `enclosing` (the one a build leaves out). */
  repository: string
  /** The repository whose file is in the way; absent for the tree's own files (v2/index.html). */
  enclosing?: string
  /** The tag of `enclosing` whose manifest file is in the way, when a tag is. */
  tag?: string
  reason: string
}

const parts = new Set<string>(repositoryParts)

/**
 * Every collision among `repositories` (name -> its tags). Linear in the total number of name
 * components; tags are compared case-sensitively, as the file systems the tree is served from do.
 */
export function treeCollisions(repositories: ReadonlyMap<string, ReadonlySet<string>>): TreeCollision[] {
  const found: TreeCollision[] = []
  for (const name of repositories.keys()) {
    const components = name.split('/')
    if (components[0] === 'index.html') {
      found.push({ repository: name, reason: `"${name}" needs a directory where the tree's /v2/index.html file is` })
    }
    for (let i = 1; i < components.length; i++) {
      const enclosing = components.slice(0, i).join('/')
      const tags = repositories.get(enclosing)
      if (tags === undefined) continue
      const part = components[i]
      const next = components[i + 1]
      if (part === 'tags' && next === 'list') {
        found.push({ repository: name, enclosing, reason: `"${name}" needs a directory where /v2/${enclosing}/tags/list, the tag list of "${enclosing}", is` })
      } else if (part === 'manifests' && next !== undefined && tags.has(next)) {
        found.push({ repository: name, enclosing, tag: next, reason: `"${name}" needs a directory where /v2/${enclosing}/manifests/${next}, the manifest of "${enclosing}:${next}", is` })
      } else if (part === 'manifests' && next === undefined) {
        for (const tag of tags) {
          if (parts.has(tag)) {
            found.push({ repository: name, enclosing, tag, reason: `the manifest of "${enclosing}:${tag}" would be a file where "${name}" has its ${tag}/ directory (/v2/${name}/${tag})` })
          }
        }
      }
    }
  }
  return found
}

/** A reference about to be stored: a tag, or (tag undefined) an untagged manifest of the repository. */
export interface IncomingName {
  repository: string
  tag?: string
}

/**
 * The first collision storing `incoming` beside `existing` (name -> tags) would take part in, or
 * undefined. Collisions among the existing names alone (a store written by hand or an older zreg)
 * do not count, so they never stop other repositories from being pushed.
 */
export function incomingCollision(existing: ReadonlyMap<string, ReadonlySet<string>>, incoming: IncomingName[]): TreeCollision | undefined {
  const merged = new Map<string, Set<string>>([...existing].map(([name, tags]) => [name, new Set(tags)]))
  for (const { repository, tag } of incoming) {
    const tags = merged.get(repository) ?? new Set<string>()
    if (tag !== undefined) tags.add(tag)
    merged.set(repository, tags)
  }
  const isNew = (name: string) => !existing.has(name)
  for (const collision of treeCollisions(merged)) {
    for (const { repository, tag } of incoming) {
      if (collision.repository === repository) return collision
      if (collision.enclosing !== repository) continue
      if (collision.tag === undefined ? isNew(repository) : collision.tag === tag) return collision
    }
  }
  return undefined
}
