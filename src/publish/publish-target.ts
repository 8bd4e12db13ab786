import type { RedirectRules } from '../build/redirect-rules.js'
import { ZregError } from '../errors.js'
import { publishToDirectory } from './publish-dir.js'
import type { PublishOptions, PublishSummary } from './publish-result.js'
import type { S3ConnectionOptions } from './s3-bucket.js'
import { planPublish, type PublishPlan } from './tree-plan.js'

/** A place `zreg publish` writes the built tree to: one module per kind (publish-dir, publish-s3). */
export interface PublishTarget {
  /** `plan` may still be in the making: a target starts what it can (connecting, reading its record) meanwhile. */
  publish(plan: Promise<PublishPlan>, options: PublishOptions): Promise<PublishSummary>
}

/**
 * TARGET as a publish target: `dir:PATH`, or `s3://BUCKET[/PREFIX]` reached with `s3` (ignored for a
 * directory). PUBLISH_TARGET_INVALID for anything else.
 */
export function openTarget(target: string, s3: S3ConnectionOptions = {}): PublishTarget {
  if (target.startsWith('dir:') && target.length > 4) {
    const path = target.slice(4)
    return { publish: async (plan, options) => publishToDirectory(await plan, path, options) }
  }
  const location = /^s3:\/\/([^/]+)(?:\/(.*))?$/.test(target)
  if (location) {
    return {
      // The AWS SDK loads only for an S3 target (it takes a while): dir: publishes start at once.
      publish: async (plan, options) => {
        const { parseS3Target } = await import('./s3-bucket.js')
        const { publishToS3 } = await import('./publish-s3.js')
        return publishToS3(plan, parseS3Target(target)!, s3, options)
      },
    }
  }
  throw new ZregError('PUBLISH_TARGET_INVALID', `${JSON.stringify(target)} is not a publish target`)
}

/**
 * Publishes the tree built at `out` to `target` (see openTarget); `redirects` (publish-time rules) send
 * more of its blobs elsewhere: an S3 target gets them as website redirects, a dir: target refuses them
 * (REDIRECT_INVALID) unless the build made the same. SITE_NOT_FOUND when `out` holds no build.
 */
export async function publishTree(out: string, target: string, options: PublishOptions & { s3?: S3ConnectionOptions; redirects?: RedirectRules } = {}): Promise<PublishSummary> {
  const opened = openTarget(target, options.s3)
  const redirects = options.redirects
  const plan = planPublish(out, redirects === undefined ? {} : { redirects }).then((plan) => {
    // A copy is served with the configuration made from the tree, which knows only the build's redirects.
    const added = target.startsWith('dir:') ? plan.objects.filter((object) => object.redirect !== undefined && object.file !== '') : []
    if (added.length > 0) {
      throw new ZregError('REDIRECT_INVALID', `the redirect rules send ${added.length} blobs the tree holds elsewhere (${added[0]!.key}, ...), but a dir: copy is served as the tree is: build it with these rules (zreg build --redirect), then publish`)
    }
    return plan
  })
  // Handled where it is awaited; this keeps a failed plan from being reported as unhandled meanwhile.
  plan.catch(() => {})
  return opened.publish(plan, options)
}
