import { realpath } from 'node:fs/promises'
import { resolve, sep } from 'node:path'

/**
 * The first of `trees` (directories a server publishes) that holds `path`, or is it; undefined for
 * none. Paths are compared both as given and as their links resolve (each that exists), so a link to
 * a file inside a tree, or to the tree itself, is no way round: a secret there would be handed out by
 * a copy of the tree or a server of it.
 */
export async function treeHolding(path: string, trees: string[]): Promise<string | undefined> {
  const real = (p: string) => realpath(p).catch(() => resolve(p))
  const forms = [resolve(path), await real(path)]
  for (const tree of trees) {
    for (const dir of [resolve(tree), await real(tree)]) {
      if (forms.some((form) => form === dir || form.startsWith(dir === sep ? dir : `${dir}${sep}`))) return tree
    }
  }
  return undefined
}
