import * as Flags from '@oclif/core/flags'
import { buildSite, type BuildResult } from '../build/build-site.js'
import { errorTable } from '../errors.js'
import { parsePlatform } from '../oci/platform.js'
import { checkRegistryHost } from '../oci/reference.js'
import { overlaySummaries, type OverlaySummary } from '../query/overlay-summary.js'
import { outFlag, overlayFlag, redirectFlag, redirectRules, storeFlag, ZregCommand } from '../cli/base-command.js'

export default class Build extends ZregCommand {
  static override summary = 'Write the static registry tree for everything in the store.'
  static override description = `Writes the registry HTTP API as plain files (v2/, catalog, tags, manifests by tag and digest, blobs, referrers), the headers each path needs (.zreg/, with the data the configurations of \`zreg server-config\` read), and a catalog page for people (index.html: repositories, tags, platforms, sizes, digests, when each was added, the pull command). Nothing in the tree names a path of this machine: copy it anywhere (cp -a, rsync -a, tar).
The build is atomic (what servers read is swapped in by one rename), reproducible, and incremental: repositories that did not change are reused as they are.
With --redirect (or redirects in the config file), the blobs a rule matches are answered with a redirect to a CDN or mirrors instead of being held in the tree; manifests always stay (clients check each blob's digest, so blobs can live anywhere; manifests carry the trust). \`zreg serve\` and every host kind of \`zreg server-config\` answer the redirects.
With --overlay, stores stacked on the store are read as one: where two hold the same repository:tag the later one wins, and blobs come from whichever store holds them. The stores are not written.
A repository the tree cannot hold (its name needs a directory where another repository's file is, or its content cannot be read) is left out and reported; the others are built and swapped in, and the command exits 5.`

  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build --store ./store --out /srv/registry',
    '<%= config.bin %> build --store ./mirror --overlay ./change-1234 --out ./speculative-site',
    "<%= config.bin %> build --redirect '**=https://cdn.example.com/blobs/{algorithm}/{hex}'",
  ]

  static override flags = {
    store: storeFlag,
    overlay: overlayFlag,
    out: outFlag,
    redirect: redirectFlag,
    'default-platform': Flags.string({ description: 'Manifest a tag naming an index serves to clients that accept no index [default: linux/amd64]' }),
    'public-host': Flags.string({ description: 'Registry host (HOST[:PORT]) the catalog page (index.html) names in its pull commands [default: the host the page is served from]' }),
    'cache-max-age': Flags.integer({ description: 'Seconds a cache (a CDN) may keep tags, tag lists and the catalog; 0: revalidate each time. Content named by digest is always immutable [default: 60]', min: 0 }),
  }

  async run(): Promise<BuildResult & { overlays?: OverlaySummary[] }> {
    const { flags } = await this.parse(Build)
    const config = await this.config_(flags)
    const redirects = redirectRules(flags.redirect, config)
    const store = await this.openStack(flags.store, flags.overlay, config)
    const platform = flags['default-platform'] ?? config.defaultPlatform
    const publicHost = flags['public-host'] ?? config.publicHost
    const result = await buildSite(store, {
      out: flags.out ?? config.out ?? './zreg-site',
      redirects,
      ...(platform ? { defaultPlatform: parsePlatform(platform) } : {}),
      ...((flags['cache-max-age'] ?? config.cacheMaxAge) !== undefined ? { cacheMaxAge: flags['cache-max-age'] ?? config.cacheMaxAge! } : {}),
      ...(publicHost === undefined ? {} : { publicHost: checkRegistryHost(publicHost, flags['public-host'] === undefined ? 'publicHost in the config file' : '--public-host') }),
    })
    const what = result.changed ? `${result.repositoriesWritten} of ${result.repositories} repositories written` : 'unchanged'
    this.log(`built ${result.out}: ${result.repositories} repositories, ${result.tags} tags (${what}) in ${result.durationMs} ms`)
    const overlays = await overlaySummaries(store)
    for (const overlay of overlays ?? []) this.log(`  overlay ${overlay.store}: ${overlay.tags} tags, ${overlay.shadowing} of them in place of a lower store's`)
    if (result.skipped.length > 0) {
      for (const { repository, reason } of result.skipped) this.logToStderr(`zreg: left out ${repository}: ${reason}`)
      this.logToStderr(`  ${errorTable.BUILD_CONFLICT.hint}`)
      process.exitCode = errorTable.BUILD_CONFLICT.exit
    }
    return overlays === undefined ? result : { ...result, overlays }
  }
}
