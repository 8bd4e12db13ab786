import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LayoutStore } from '../../src/store/layout-store.js'
import { dataDir } from '../paths.js'
import { log } from '../support/log.js'
import { writeImageLayout, type ImageSpec } from './image-layout.js'

/**
 * Bumped when the store's content changes, so an older one is generated again. 3: written through zreg's
 * own store, so index.json is as `zreg add` writes it (sorted, indented, each entry with its platform
 * and the time it was added).
 */
const scaleVersion = 3

interface ScaleMeta {
  version: number
  repositories: number
  tagsPerRepository: number
  /** Bytes of each of the two shared layers. */
  layerBytes: number
  /** index.json as generated: restored after a phase retags. */
  indexText: string
}

/** A store of repositories x tags: each tag its own manifest and config, all sharing two layers. */
export interface ScaleStore {
  dir: string
  meta: ScaleMeta
}

/** The name of repository number `r` (`scale/r0042`). */
export function scaleRepository(r: number): string {
  return `scale/r${String(r).padStart(4, '0')}`
}

/** Generates (or reuses, with its index.json as generated) the store of `repositories` x `tagsPerRepository` tags. */
export async function ensureScaleStore(repositories: number, tagsPerRepository: number, layerBytes: number): Promise<ScaleStore> {
  const name = `scale-${repositories}x${tagsPerRepository}-${layerBytes}`
  const dir = join(dataDir, name)
  const info = join(dataDir, `${name}.json`)
  if (existsSync(info)) {
    const meta = JSON.parse(readFileSync(info, 'utf8')) as ScaleMeta
    if (meta.version === scaleVersion) {
      writeFileSync(join(dir, 'index.json'), meta.indexText)
      log(`(d) reusing store ${name}`)
      return { dir, meta }
    }
  }
  log(`(d) generating store ${name} (${repositories * tagsPerRepository} tags)`)
  const started = performance.now()
  rmSync(info, { force: true })
  const layers = [
    { seed: `scale-${layerBytes}-a`, size: layerBytes },
    { seed: `scale-${layerBytes}-b`, size: layerBytes },
  ]
  const images: ImageSpec[] = []
  for (let r = 0; r < repositories; r++) {
    for (let t = 0; t < tagsPerRepository; t++) {
      const ref = `${scaleRepository(r)}:t${String(t).padStart(2, '0')}`
      images.push({ ref, layers, labels: { 'bench.scale': ref } })
    }
  }
  await writeImageLayout(dir, images, { durable: false })
  const meta: ScaleMeta = { version: scaleVersion, repositories, tagsPerRepository, layerBytes, indexText: readFileSync(join(dir, 'index.json'), 'utf8') }
  writeFileSync(info, JSON.stringify(meta))
  log(`(d) generated ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { dir, meta }
}

/**
 * Points tag t00 of repository `r` at the manifest of its t01 (an existing manifest), through the
 * store's index update: through `store` when given (a store that wrote the index last starts from what
 * it wrote), else through a store opened for it (which reads the index, as a new process does).
 */
export async function retagOne(storeDir: string, r: number, store?: LayoutStore): Promise<void> {
  const repository = scaleRepository(r)
  store ??= await LayoutStore.open(storeDir, { create: false })
  await store.updateIndex((refs) => {
    const from = refs.get(`${repository}:t00`)
    const to = refs.get(`${repository}:t01`)
    if (from === undefined || to === undefined) throw new Error(`${storeDir} has no ${repository}:t00 and :t01`)
    refs.set(`${repository}:t00`, { ...from, descriptor: { ...from.descriptor, digest: to.descriptor.digest, size: to.descriptor.size } })
  })
}

/** Puts index.json back as generated. */
export function restoreIndex(store: ScaleStore, dir = store.dir): void {
  writeFileSync(join(dir, 'index.json'), store.meta.indexText)
}
