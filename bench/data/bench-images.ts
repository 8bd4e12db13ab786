import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dataDir } from '../paths.js'
import { log } from '../support/log.js'
import { MiB } from '../support/stats.js'
import { writeImageLayout, type BlobRef, type WrittenImage } from './image-layout.js'

/** The images of (a) to (c), (e), (f) and the full (g): one key each, layer sizes in bytes. */
const imageSpecs = [
  { key: 'small', ref: 'bench/small:1.0', layers: [4096] },
  { key: 'blob26', ref: 'bench/blob26:1.0', layers: [26 * MiB] },
  { key: 'img50', ref: 'bench/img50:1.0', layers: Array<number>(5).fill(10 * MiB) },
  { key: 'img300', ref: 'bench/img300:1.0', layers: Array<number>(6).fill(50 * MiB) },
  { key: 'blob300', ref: 'bench/blob300:1.0', layers: [300 * MiB] },
] as const

export type ImageKey = (typeof imageSpecs)[number]['key']

export interface BenchImage extends WrittenImage {
  /** Layers, config and manifest together, bytes. */
  totalBytes: number
}

export type BenchImages = Record<ImageKey, BenchImage>

/** Bumped when the layout's content changes: a layout of another version is generated again. */
const dataVersion = 1

/** The OCI layout holding the benchmark images: zreg adds it, skopeo loads distribution from it. */
export const imagesDir = join(dataDir, 'images')
const imagesInfo = join(imagesDir, 'bench-images.json')

/** Where a blob of the images layout is (blobs/sha256/HEX). */
export function imageBlobFile(blob: BlobRef): string {
  return join(imagesDir, 'blobs', 'sha256', blob.digest.slice('sha256:'.length))
}

/** Generates (or reuses) the OCI layout with the benchmark images; returns them by key. */
export async function ensureImages(): Promise<BenchImages> {
  const wanted = JSON.stringify(imageSpecs)
  if (existsSync(imagesInfo)) {
    const info = JSON.parse(readFileSync(imagesInfo, 'utf8')) as { version: number; specs: string; images: BenchImages }
    if (info.version === dataVersion && info.specs === wanted) {
      log(`images: reusing ${imagesDir}`)
      return info.images
    }
  }
  log(`images: generating ${imagesDir} (${(imageSpecs.reduce((s, i) => s + i.layers.reduce((a, b) => a + b, 0), 0) / MiB).toFixed(0)} MiB)`)
  const started = performance.now()
  const written = await writeImageLayout(
    imagesDir,
    imageSpecs.map((spec) => ({ ref: spec.ref, layers: spec.layers.map((size, i) => ({ seed: `${spec.ref}#layer${i}`, size })), labels: { 'bench.image': spec.ref } })),
  )
  const images = Object.fromEntries(
    imageSpecs.map((spec, i) => {
      const image = written[i]!
      return [spec.key, { ...image, totalBytes: image.layers.reduce((s, l) => s + l.size, 0) + image.config.size + image.manifest.size }]
    }),
  ) as BenchImages
  writeFileSync(imagesInfo, JSON.stringify({ version: dataVersion, specs: wanted, images }, null, 2))
  log(`images: generated in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return images
}
