import { mkdir } from 'node:fs/promises'
import { defaultPlatform, type Platform } from '../oci/platform.js'
import { withLock } from '../store/lock.js'
import type { Store, StoredRef } from '../store/store.js'
import { planRepository, planSite, treeFormatVersion, type RepositoryEntry, type RepositoryPlan } from './plan.js'
import { groupByRepository, loadRepository, repositoryInput, type ManifestCache } from './site-model.js'
import { treePaths } from './tree-paths.js'
import { liveState, writeTree, type WriteResult } from './write-tree.js'

export interface BuildOptions {
  out: string
  /** What a tag naming an index serves to clients that accept no index (default linux/amd64). */
  defaultPlatform?: Platform
}

export interface BuildResult extends WriteResult {
  tags: number
  durationMs: number
}

/**
 * Builds (or incrementally rebuilds) the static registry tree for everything in the store. A
 * repository whose references did not change since the live build is neither read nor written again.
 */
export async function buildSite(store: Store, options: BuildOptions): Promise<BuildResult> {
  const started = performance.now()
  const platform = options.defaultPlatform ?? defaultPlatform
  const paths = treePaths(options.out)
  await mkdir(paths.objects, { recursive: true })
  await mkdir(paths.generations, { recursive: true })
  return withLock(paths.lock, async () => {
    const groups = groupByRepository(await store.refList())
    const live = await liveState(paths)
    const salt = [treeFormatVersion, platform]
    const entries: RepositoryEntry[] = []
    const changed: { name: string; input: string; refs: StoredRef[] }[] = []
    let tags = 0
    for (const [name, refs] of groups) {
      tags += refs.filter((ref) => ref.tag !== undefined).length
      const input = repositoryInput(name, refs, salt)
      const before = live.repositories.get(name)
      if (before && before.input === input && live.objects.has(before.key)) entries.push({ name, input, key: before.key })
      else changed.push({ name, input, refs })
    }
    const cache: ManifestCache = new Map()
    const plans: RepositoryPlan[] = []
    for (const { name, input, refs } of changed) {
      const plan = planRepository(await loadRepository(store, name, refs, cache), { defaultPlatform: platform })
      entries.push({ name, input, key: plan.key })
      plans.push(plan)
    }
    const site = planSite(entries, { defaultPlatform: platform })
    const written = await writeTree(store, site, plans, paths, live)
    return { ...written, tags, durationMs: Math.round(performance.now() - started) }
  })
}
