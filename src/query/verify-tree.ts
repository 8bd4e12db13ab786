import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { treeObjects } from '../build/tree-objects.js'
import { digestAlgorithm } from '../oci/digest.js'
import type { LocalBlobPaths, RefReader } from '../store/store.js'
import { hashFiles } from './hash-files.js'
import type { VerifyProblem } from './verify-store.js'

/** The inode of a file, or undefined when it is missing. */
function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino
  } catch {
    return undefined
  }
}

/**
 * Checks the tree `zreg build` wrote at `out` (its live generation) against the store it was built
 * from: every repository and tag of the store is in the tree and nothing else is, each tag's file
 * names the store's manifest with its media type, each tag list lists the store's tags, and every
 * file's bytes hash to the digest its headers give (a file that is the store's own blob, hard-linked,
 * was hashed by verifyStore and is not read again; a redirected blob has no file to check). Problems
 * name the tree's path as their reference; kind `tree`.
 */
export async function verifyTree(out: string, store: RefReader & LocalBlobPaths): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = []
  const report = (key: string, digest: string, message: string) => problems.push({ kind: 'tree', digest, message, reference: key })
  const { site, objects } = await treeObjects(out)
  const byRepository = new Map<string, Map<string, { digest: string; mediaType: string }>>()
  for (const ref of await store.refList()) {
    const tags = byRepository.get(ref.repository) ?? new Map<string, { digest: string; mediaType: string }>()
    if (ref.tag !== undefined) tags.set(ref.tag, { digest: ref.descriptor.digest, mediaType: ref.descriptor.mediaType })
    byRepository.set(ref.repository, tags)
  }
  const rebuild = 'run zreg build again'
  for (const name of byRepository.keys()) if (site.repositories[name] === undefined) report(`v2/${name}`, '', `is in the store but not in the tree (left out by the build, or the store changed since): ${rebuild}`)
  for (const name of Object.keys(site.repositories)) if (!byRepository.has(name)) report(`v2/${name}`, '', `is in the tree but no longer in the store: ${rebuild}`)
  const toHash: { key: string; digest: string; path: string; algorithm: string; size: number }[] = []
  for (const object of objects) {
    const match = /^v2\/(.+)\/(manifests|tags)\/([^/]+)$/.exec(object.key)
    const tags = match ? byRepository.get(match[1]!) : undefined
    if (match && tags && match[2] === 'manifests' && !match[3]!.includes(':')) {
      const stored = tags.get(match[3]!)
      if (stored === undefined) report(object.key, object.digest ?? '', `names a tag the store does not have: ${rebuild}`)
      else if (stored.digest !== object.digest || stored.mediaType !== object.contentType) {
        report(object.key, object.digest ?? '', `is ${object.digest} (${object.contentType}), but the store tags ${stored.digest} (${stored.mediaType}): ${rebuild}`)
      }
    }
    if (match && tags && match[2] === 'tags') {
      const listed = (JSON.parse(await readFile(object.file, 'utf8')) as { tags?: string[] }).tags ?? []
      if (JSON.stringify([...listed].sort()) !== JSON.stringify([...tags.keys()].sort())) report(object.key, '', `lists ${listed.length} tags, but the store has ${tags.size}: ${rebuild}`)
    }
    if (object.redirect !== undefined || object.digest === undefined) continue
    const inode = inodeOf(object.file)
    if (inode === undefined) {
      report(object.key, object.digest, 'is missing from the tree')
      continue
    }
    if (inode === inodeOf(store.blobPath(object.digest as never))) continue
    toHash.push({ key: object.key, digest: object.digest, path: object.file, algorithm: digestAlgorithm(object.digest as never), size: object.size })
  }
  await hashFiles(toHash, (job, actual) => {
    if (actual.digest !== job.digest) report(job.key, job.digest, `its bytes hash to ${actual.digest}`)
    else if (actual.size !== job.size) report(job.key, job.digest, `is ${actual.size} bytes, but its headers say ${job.size}`)
  })
  return problems.sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0))
}
