import { buildSite, type BuildResult } from '../build/build-site.js'
import type { Platform } from '../oci/platform.js'
import type { RedirectRules } from '../build/redirect-rules.js'
import type { RefReader } from '../store/store.js'
import { treePage, type SiteFile } from './site-reader.js'

/**
 * Keeps the static tree current in push mode: one build at a time, and requests that arrive during a
 * build are served by one more build after it (which sees everything they wrote). Repositories a build
 * leaves out are reported on stderr when that list changes; the tree goes on being built without them.
 */
export class TreeRebuilder {
  private running: Promise<BuildResult> | undefined
  private queued: Promise<BuildResult> | undefined
  private reported = '[]'

  constructor(
    /** The store, or the stack push mode reads (its top is the one written). */
    private readonly store: RefReader,
    private readonly out: string,
    private readonly options: { defaultPlatform?: Platform; publicHost?: string; redirects?: RedirectRules } = {},
  ) {}

  /** The catalog page of the tree as last built (push mode serves it for `/`). */
  page(): SiteFile | undefined {
    return treePage(this.out)
  }

  rebuild(): Promise<BuildResult> {
    if (this.queued) return this.queued
    const start = (): Promise<BuildResult> => {
      this.queued = undefined
      this.running = buildSite(this.store, { out: this.out, ...this.options })
        .then((result) => {
          this.report(result)
          return result
        })
        .finally(() => {
          this.running = undefined
        })
      return this.running
    }
    if (!this.running) return start()
    this.queued = this.running.then(start, start)
    return this.queued
  }

  private report(result: BuildResult): void {
    const skipped = JSON.stringify(result.skipped)
    if (skipped === this.reported) return
    this.reported = skipped
    for (const { repository, reason } of result.skipped) process.stderr.write(`zreg: ${repository} is left out of the tree: ${reason}\n`)
  }
}
