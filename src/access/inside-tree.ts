import { realpath } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'

/**
 * The first of `trees` (directories a server publishes) that holds `path`, or is it; undefined for
 * none. Paths are compared both as given and as their links resolve, so a link to a file inside a
 * tree, or to the tree itself, is no way round: a secret there would be handed out by a copy of the
 * tree or a server of it. A path that does not exist yet (a directory to be made) resolves through
 * its nearest existing parent.
 */
export async function treeHolding(path: string, trees: string[]): Promise<string | undefined> {
  const forms = [resolve(path), await resolveLinks(path)]
  for (const tree of trees) {
    for (const dir of [resolve(tree), await resolveLinks(tree)]) {
      if (forms.some((form) => form === dir || form.startsWith(dir === sep ? dir : `${dir}${sep}`))) return tree
    }
  }
  return undefined
}

/** `path` absolute, with the links of its longest existing prefix resolved. */
async function resolveLinks(path: string): Promise<string> {
  const absolute = resolve(path)
  const real = await realpath(absolute).catch(() => undefined)
  if (real !== undefined) return real
  const parent = dirname(absolute)
  return parent === absolute ? absolute : join(await resolveLinks(parent), basename(absolute))
}
