import { buildSite, type BuildResult } from '../build/build-site.js'
import type { Platform } from '../oci/platform.js'
import type { Store } from '../store/store.js'

/**
 * Keeps the static tree current in push mode: one build at a time, and requests that arrive during a
 * build are served by one more build after it (which sees everything they wrote).
 */
export class TreeRebuilder {
  private running: Promise<BuildResult> | undefined
  private queued: Promise<BuildResult> | undefined

  constructor(
    private readonly store: Store,
    private readonly out: string,
    private readonly defaultPlatform?: Platform,
  ) {}

  rebuild(): Promise<BuildResult> {
    if (this.queued) return this.queued
    const start = (): Promise<BuildResult> => {
      this.queued = undefined
      this.running = buildSite(this.store, { out: this.out, ...(this.defaultPlatform ? { defaultPlatform: this.defaultPlatform } : {}) }).finally(() => {
        this.running = undefined
      })
      return this.running
    }
    if (!this.running) return start()
    this.queued = this.running.then(start, start)
    return this.queued
  }
}
