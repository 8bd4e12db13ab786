import { defaultPlatform, type Platform } from '../oci/platform.js'
import type { Store } from '../store/store.js'
import { planSite } from './plan.js'
import { loadRepositories, type ManifestCache } from './site-model.js'
import { writeTree, type WriteResult } from './write-tree.js'

export interface BuildOptions {
  out: string
  /** What a tag naming an index serves to clients that accept no index (default linux/amd64). */
  defaultPlatform?: Platform
  /** Manifest summaries kept between builds in one process (push mode). */
  cache?: ManifestCache
}

export interface BuildResult extends WriteResult {
  tags: number
  durationMs: number
}

/** Builds (or incrementally rebuilds) the static registry tree for everything in the store. */
export async function buildSite(store: Store, options: BuildOptions): Promise<BuildResult> {
  const started = performance.now()
  const repositories = await loadRepositories(store, options.cache)
  const plan = planSite(repositories, { defaultPlatform: options.defaultPlatform ?? defaultPlatform })
  const written = await writeTree(store, plan, options.out)
  const tags = repositories.reduce((sum, repository) => sum + repository.tags.size, 0)
  return { ...written, tags, durationMs: Math.round(performance.now() - started) }
}
