import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { imagesDir, type BenchImages } from '../data/bench-images.js'
import { writeImageLayout, type LayerSpec } from '../data/image-layout.js'
import { dataDir } from '../paths.js'
import { log } from '../support/log.js'
import { MiB } from '../support/stats.js'
import type { BenchSettings } from '../settings.js'

export const mirrorDir = join(dataDir, 'mirror')
/** The OCI layout the mirror registry is loaded from. */
const mirrorImages = join(mirrorDir, 'images')
const mirrorVersion = 1
/** The big image, as the mirror registry names it. */
export const mirrorBig = { repository: 'bench/big', tag: '1' }
/** The repository of many tags. */
export const mirrorMany = 'bench/many'

interface MirrorImageSpec {
  ref: string
  layers: LayerSpec[]
}

/** What the mirror registry is loaded from. */
export interface MirrorData {
  /** The distinct images of bench/many, in the mirror layout. */
  many: string[]
  /** The big image: its layout and ref; digest when it is img300. */
  big: { layout: string; ref: string; digest?: string }
  /** What the layout was made from: the mirror registry is loaded again when it changes. */
  key: string
  /** The layout of `many`. */
  layout: string
}

/**
 * The distinct images behind the tags of bench/many, with layer sharing as in real images: every one is
 * built on one 1 MiB base layer, one of 4 runtime layers of 256 KiB (each shared by a quarter of them),
 * and an application layer of its own of 4 to 64 KiB.
 */
function mirrorManySpecs(count: number): MirrorImageSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    ref: `${mirrorMany}:src-${String(i).padStart(2, '0')}`,
    layers: [
      { seed: 'mirror-base', size: MiB },
      { seed: `mirror-runtime-${i % 4}`, size: 256 * 1024 },
      { seed: `mirror-app-${i}`, size: 4096 * (1 + ((i * 7) % 16)) },
    ],
  }))
}

/** Tag i of bench/many (semver-like, as real tags): the first `distinct` are pushed, the others retag them. */
export function mirrorTag(i: number, distinct: number): string {
  return `1.${Math.floor(i / distinct)}.${i % distinct}`
}

/**
 * The OCI layout the mirror registry is loaded from (made once, reused): the distinct images of bench/many
 * and, in quick runs, a small 6-layer big image. Full runs take img300 from the shared images layout.
 */
export async function ensureMirrorImages(quick: boolean, settings: BenchSettings, images: BenchImages | undefined): Promise<MirrorData> {
  const specs = mirrorManySpecs(settings.mirrorDistinctImages)
  const bigSpec: MirrorImageSpec | undefined = quick
    ? { ref: `${mirrorBig.repository}:quick`, layers: Array.from({ length: 6 }, (_, i) => ({ seed: `mirror-big-${i}`, size: settings.mirrorQuickLayerBytes })) }
    : undefined
  let big: MirrorData['big']
  if (bigSpec) big = { layout: mirrorImages, ref: bigSpec.ref }
  else {
    if (images === undefined) throw new Error('(g) full runs mirror img300: the bench images are needed')
    big = { layout: imagesDir, ref: images.img300.ref, digest: images.img300.manifest.digest }
  }
  const wanted = JSON.stringify({ version: mirrorVersion, specs, bigSpec })
  const data = { many: specs.map((s) => s.ref), big, key: wanted, layout: mirrorImages }
  const info = join(mirrorImages, 'bench-mirror.json')
  if (existsSync(info) && readFileSync(info, 'utf8') === wanted) {
    log(`(g) reusing ${mirrorImages}`)
    return data
  }
  log(`(g) generating ${mirrorImages}`)
  await writeImageLayout(
    mirrorImages,
    [...specs, ...(bigSpec ? [bigSpec] : [])].map((spec) => ({ ...spec, labels: { 'bench.image': spec.ref } })),
  )
  writeFileSync(info, wanted)
  return data
}
