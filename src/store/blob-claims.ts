import { appendFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Digest } from '../oci/digest.js'
import { stagingRoot } from './debris.js'

/** The file in a staging directory that lists the stored blobs its writer relies on, a digest a line. */
const claimsFile = 'claims'

/**
 * Records, in a writer's staging directory, that it relies on finding `digest` in the store (it is about
 * to check, and skip writing the blob when it is there). Written before the check: a `zreg gc` that
 * moves the blob aside in between reads the claim afterwards and puts it back (gc.ts). Synchronous and
 * appended whole (one short line), so a reader sees a claim complete or not at all.
 */
export function claimBlob(stagingDirectory: string, digest: Digest): void {
  appendFileSync(join(stagingDirectory, claimsFile), `${digest}\n`)
}

/** Every blob the store's writers (live or dead: their staging directories are swept apart) have claimed. */
export async function readClaims(storeLocation: string): Promise<Set<string>> {
  const claimed = new Set<string>()
  const root = join(storeLocation, stagingRoot)
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const text = await readFile(join(root, name, claimsFile), 'utf8').catch(() => '')
    for (const line of text.split('\n')) if (line !== '') claimed.add(line)
  }
  return claimed
}
