import type { Readable } from 'node:stream'
import { DigestCounter, digestAlgorithm, type Digest } from '../oci/digest.js'
import { maxManifestBytes, parseManifest, referencedDescriptors, type Descriptor } from '../oci/manifest.js'
import { isDistributable } from '../oci/media-types.js'
import { hasDebrisList, type Store } from '../store/store.js'

export interface VerifyProblem {
  /** What is wrong: a blob whose bytes are not its digest, a missing or wrongly sized one, a bad manifest. */
  kind: 'digest' | 'missing' | 'size' | 'manifest'
  digest: string
  message: string
  /** The reference that reaches it. */
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

async function hashStream(stream: Readable, algorithm: string): Promise<{ digest: Digest; size: number }> {
  const counter = new DigestCounter(algorithm)
  for await (const chunk of stream as AsyncIterable<Buffer>) counter.update(chunk)
  return { digest: counter.digest(), size: counter.size }
}

/**
 * Checks the store from every reference down: each manifest parses and satisfies its schema, each blob
 * it names is present with the declared size, and each blob's bytes hash to its digest (read once).
 * Also lists the leftovers of interrupted runs.
 */
export async function verifyStore(store: Store): Promise<VerifyResult> {
  const problems: VerifyProblem[] = []
  const checked = new Map<Digest, number | undefined>()
  let bytes = 0

  async function checkBlob(descriptor: Descriptor, reference: string): Promise<boolean> {
    let size = checked.get(descriptor.digest)
    if (!checked.has(descriptor.digest)) {
      size = await store.blobStat(descriptor.digest)
      if (size !== undefined) {
        const actual = await hashStream(await store.blobRead(descriptor.digest), digestAlgorithm(descriptor.digest))
        bytes += actual.size
        if (actual.digest !== descriptor.digest) {
          problems.push({ kind: 'digest', digest: descriptor.digest, message: `its bytes hash to ${actual.digest}`, reference })
        }
      }
      checked.set(descriptor.digest, size)
    }
    if (size === undefined) {
      if (!isDistributable(descriptor.mediaType) && descriptor.urls?.length) return false
      problems.push({ kind: 'missing', digest: descriptor.digest, message: 'is referenced but not stored', reference })
      return false
    }
    if (size !== descriptor.size) {
      problems.push({ kind: 'size', digest: descriptor.digest, message: `is ${size} bytes, but ${descriptor.size} are declared`, reference })
    }
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
      problems.push({ kind: 'manifest', digest: descriptor.digest, message: (error as Error).message, reference })
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
  const leftovers = hasDebrisList(store) ? await store.debrisList() : []
  return { references: refs.length, blobs: checked.size, bytes, problems, leftovers }
}
