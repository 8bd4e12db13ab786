import { join } from 'node:path'
import { refKey } from '../../src/store/layout-store.js'
import { imagesDir, type BenchImages } from '../data/bench-images.js'
import { dataDir, zregBin } from '../paths.js'
import { run } from '../support/children.js'
import { log } from '../support/log.js'
import { storeRefs } from '../data/store-refs.js'
import { waitForDist } from './zreg.js'

/** zreg's store of the benchmark images, and the tree built from it that (a) to (c) serve. */
export const zregStore = join(dataDir, 'zreg-store')
export const zregSite = join(dataDir, 'zreg-site')

/** Adds the images to zreg's store unless it holds them all already, then builds the tree. */
export async function ensureZregSite(images: BenchImages): Promise<void> {
  const have = (await storeRefs(zregStore)) ?? new Map<string, string>()
  const missing = Object.values(images).filter((i) => have.get(refKey({ repository: i.repository, tag: i.tag })) !== i.manifest.digest)
  if (missing.length > 0) {
    await waitForDist()
    log(`zreg: add oci:${imagesDir} -> ${zregStore}`)
    const r = await run(zregBin, ['add', `oci:${imagesDir}`, '--store', zregStore], { timeoutMs: 600000 })
    log(`zreg: add took ${(r.ms / 1000).toFixed(1)} s`)
  } else log(`zreg: reusing store ${zregStore}`)
  await waitForDist()
  const r = await run(zregBin, ['build', '--store', zregStore, '--out', zregSite], { timeoutMs: 600000 })
  log(`zreg: ${r.stdout.trim() || r.stderr.trim()}`)
}
