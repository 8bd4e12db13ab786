import type { Readable } from 'node:stream'
import { DigestCounter, digestAlgorithm, type Digest } from '../oci/digest.js'
import { maxManifestBytes, parseManifest, referencedDescriptors, type Descriptor } from '../oci/manifest.js'
import { isDistributable } from '../oci/media-types.js'
import { hasDebrisList, hasLocalBlobPaths, type RefReader } from '../store/store.js'
import { hashFiles } from './hash-files.js'

export interface VerifyProblem {
  /** What is wrong: a blob whose bytes are not its digest, a missing or wrongly sized one, a bad manifest. */
  kind: 'digest' | 'missing' | 'size' | 'manifest' | 'tree'
  digest: string
  message: string
  /** The reference that reaches it (for a problem of the tree: the tree's path). */
  reference: string
}

export interface VerifyResult {
  references: number
  blobs: number
  bytes: number
  problems: VerifyProblem[]
  /**
   * What interrupted runs (Ctrl-C, kill -9) left: staging directories and temp files of processes that
   * are gone. Harmless and not a problem (no reference reaches them); safe to remove, and the next
   * `zreg add` removes them.
   */
  leftovers: { path: string; bytes: number }[]
}

async function hashStream(stream: Readable, algorithm: string): Promise<{ digest: string; size: number }> {
  const counter = new DigestCounter(algorithm)
  for await (const chunk of stream as AsyncIterable<Buffer>) counter.update(chunk)
  return { digest: counter.digest(), size: counter.size }
}

/**
 * Checks the store from every reference down: each manifest parses and satisfies its schema, each blob
 * it names is present with the declared size, and each blob's bytes hash to its digest (read once; on
 * every core, hash-files.ts, when the store's blobs are files). Problems come in the order the walk
 * meets them. Also lists the leftovers of interrupted runs.
 */
export async function verifyStore(store: RefReader): Promise<VerifyResult> {
  /** Each problem with the position of its blob in the walk, so parallel hashing keeps the order. */
  const found: { at: number; problem: VerifyProblem }[] = []
  /** Blobs in the order the walk first meets them: what to hash, and the reference that reached each. */
  const blobs = new Map<Digest, { at: number; size: number | undefined; reference: string }>()

  async function checkBlob(descriptor: Descriptor, reference: string): Promise<boolean> {
    let seen = blobs.get(descriptor.digest)
    if (seen === undefined) {
      seen = { at: blobs.size, size: await store.blobStat(descriptor.digest), reference }
      blobs.set(descriptor.digest, seen)
    }
    const report = (problem: Omit<VerifyProblem, 'digest' | 'reference'>) => found.push({ at: seen.at, problem: { ...problem, digest: descriptor.digest, reference } })
    if (seen.size === undefined) {
      if (!isDistributable(descriptor.mediaType) && descriptor.urls?.length) return false
      report({ kind: 'missing', message: 'is referenced but not stored' })
      return false
    }
    if (seen.size !== descriptor.size) report({ kind: 'size', message: `is ${seen.size} bytes, but ${descriptor.size} are declared` })
    return true
  }

  async function checkManifest(descriptor: Descriptor, reference: string): Promise<void> {
    if (!(await checkBlob(descriptor, reference))) return
    let references: Descriptor[]
    let isIndex: boolean
    try {
      const parsed = parseManifest(await store.blobBytes(descriptor.digest, maxManifestBytes), descriptor.mediaType)
      references = referencedDescriptors(parsed)
      isIndex = parsed.kind === 'index'
    } catch (error) {
      found.push({ at: blobs.get(descriptor.digest)!.at, problem: { kind: 'manifest', digest: descriptor.digest, message: (error as Error).message, reference } })
      return
    }
    for (const child of references) {
      if (isIndex) await checkManifest(child, reference)
      else await checkBlob(child, reference)
    }
  }

  const refs = await store.refList()
  for (const ref of refs) {
    await checkManifest(ref.descriptor, ref.tag === undefined ? `${ref.repository}@${ref.descriptor.digest}` : `${ref.repository}:${ref.tag}`)
  }
  // Then every stored blob's bytes, on every core.
  let bytes = 0
  const stored = [...blobs].filter(([, seen]) => seen.size !== undefined)
  const checkHash = (digest: Digest, seen: { at: number; reference: string }, actual: { digest: string; size: number }) => {
    bytes += actual.size
    if (actual.digest !== digest) found.push({ at: seen.at, problem: { kind: 'digest', digest, message: `its bytes hash to ${actual.digest}`, reference: seen.reference } })
  }
  if (hasLocalBlobPaths(store)) {
    const jobs = stored.map(([digest, seen]) => ({ digest, seen, path: store.blobPath(digest), algorithm: digestAlgorithm(digest), size: seen.size! }))
    await hashFiles(jobs, (job, actual) => checkHash(job.digest, job.seen, actual))
  } else {
    for (const [digest, seen] of stored) checkHash(digest, seen, await hashStream(await store.blobRead(digest), digestAlgorithm(digest)))
  }
  const problems = found.sort((a, b) => a.at - b.at).map(({ problem }) => problem)
  const leftovers = hasDebrisList(store) ? await store.debrisList() : []
  return { references: refs.length, blobs: blobs.size, bytes, problems, leftovers }
}
