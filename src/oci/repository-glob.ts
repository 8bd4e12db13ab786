import { ZregError } from '../errors.js'

/**
 * A repository glob, as access rules and webhook filters name repositories: `*` matches within one
 * component of the name (`team/*` is `team/app`, not `team/app/web`), `**` across components
 * (`team/**` is every repository under `team/`), anything else itself. Names are lowercase
 * (distribution-spec "Pulling manifests"), so a glob with capitals matches nothing and is refused.
 */
export interface RepositoryGlob {
  glob: string
  matches(name: string): boolean
}

/** A glob's pattern; USAGE (naming `where`) when it cannot match a repository name. */
export function repositoryGlob(glob: string, where: string): RepositoryGlob {
  if (glob === '' || !/^[a-z0-9._/*-]+$/.test(glob) || glob.startsWith('/') || glob.endsWith('/') || glob.includes('//') || /\*{3}/.test(glob)) {
    throw new ZregError('USAGE', `${where}: "${glob}" is no repository glob; write names of lowercase letters, digits, ".", "_", "-" and "/", with * for part of a component and ** for any components (team/*, team/**)`)
  }
  const pattern = new RegExp(`^${globSource(glob)}$`)
  return { glob, matches: (name) => pattern.test(name) }
}

/**
 * A checked glob as an unanchored regular expression source matching the same names, in the syntax
 * JavaScript, PCRE (nginx, Apache) and RE2 (Caddy) share: `[^/]*` for `*`, `.*` for `**`, `\.` for a dot.
 */
export function globSource(glob: string): string {
  return glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.]/g, '\\.')))
    .join('')
}

/** Whether any of `globs` matches `name`. */
export function matchesAny(globs: readonly RepositoryGlob[], name: string): boolean {
  return globs.some((glob) => glob.matches(name))
}
