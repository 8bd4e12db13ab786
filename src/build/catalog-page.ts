import type { Descriptor } from '../oci/manifest.js'
import { formatPlatform, type Platform } from '../oci/platform.js'
import type { ManifestSummary, RepositoryModel } from './site-model.js'

/**
 * The catalog page a build writes at the tree root (`index.html`): every repository, its tags, each
 * tag's platforms and sizes, digests, when each tag was added, and the pull command to copy. One static
 * HTML file with inline CSS, readable without JavaScript (a few lines of it add copy buttons, a filter
 * and the host the page is served from). Only relative links, so it works wherever the tree is served.
 *
 * A repository's part (its fragment) is made when the repository is planned and kept beside its
 * directory (objects/<key>.page.html). In a page each stands in a block marked with the repository's key,
 * so a rebuild copies the blocks of unchanged repositories out of the live page (one read, not one per
 * repository) and makes only the changed ones.
 */

/** Bump when the page's markup changes: fragments of an older format are not reused. */
export const pageFormat = 1

export const pageContentType = 'text/html; charset=utf-8'

/** Text from images (annotations, platforms) may hold anything: it only ever reaches the page through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * Where a fragment's pull commands name the registry host: filled in when the page is assembled. No
 * escaped text can hold a `<`, so nothing from an image can forge it.
 */
const hostSlot = '<zreg-host>'

/** Sizes as `docker images` shows them (decimal units). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = -1
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}

/** An image's bytes as a pull moves them: manifest, config and layers. */
function imageSize(summary: ManifestSummary | undefined, manifestSize: number): number {
  return manifestSize + (summary?.references ?? []).reduce((sum, descriptor) => sum + descriptor.size, 0)
}

function platformText(platform: Platform | null | undefined): string {
  if (!platform) return '-'
  const osVersion = platform['os.version'] ? ` (${platform['os.version']})` : ''
  return `${formatPlatform(platform)}${osVersion}`
}

/** An index child that is no runnable image (buildx's attestation manifests say unknown/unknown). */
function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown'
}

function addedCell(added: string | undefined, span: string): string {
  if (added === undefined) return `<td class="t"${span}>-</td>`
  const shown = added.replace('T', ' ').replace(/:\d\dZ$/, ' UTC')
  return `<td class="t"${span}>${escapeHtml(shown)}</td>`
}

/** The text a person reads as the tag's description: the OCI title and description annotations. */
function description(summary: ManifestSummary): string {
  const title = summary.annotations?.['org.opencontainers.image.title']
  const text = summary.annotations?.['org.opencontainers.image.description']
  const parts = [title, text].filter((part): part is string => part !== undefined && part !== '')
  return parts.length === 0 ? '' : `<div class="d">${escapeHtml(parts.join(': ').slice(0, 300))}</div>`
}

/** Which overlay store a tag comes from (a stacked build), shown beside it: a speculative image is told apart from the mirror's. */
function sourceBadge(source: string | undefined): string {
  return source === undefined ? '' : ` <span class="o" title="from the overlay store ${escapeHtml(source)}">${escapeHtml(source)}</span>`
}

/** One repository's `<summary>` and table: the part of the page that changes only with the repository. */
export function repositoryFragment(repository: RepositoryModel): string {
  const tags = [...repository.tags.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const rows: string[] = []
  for (const tag of tags) {
    const digest = repository.tags.get(tag)!
    const summary = repository.manifests.get(digest)!
    const reference = escapeHtml(`${repository.name}:${tag}`)
    // One row per platform: an index lists its children (attestations left out), an image its own.
    const platforms =
      summary.kind === 'index'
        ? summary.references.filter((child) => !isAttestation(child)).map((child) => ({ platform: child.platform, size: imageSize(repository.manifests.get(child.digest), child.size) }))
        : [{ platform: summary.platform, size: imageSize(summary, summary.size) }]
    if (platforms.length === 0) platforms.push({ platform: undefined, size: summary.size })
    const span = platforms.length > 1 ? ` rowspan="${platforms.length}"` : ''
    const first = platforms[0]!
    rows.push(
      `<tr><td class="n"${span}>${escapeHtml(tag)}${sourceBadge(repository.sources.get(tag))}${description(summary)}</td><td>${escapeHtml(platformText(first.platform))}</td><td class="s">${formatSize(first.size)}</td>` +
        `<td class="g"${span}><code>${escapeHtml(digest)}</code></td>${addedCell(repository.added.get(tag), span)}` +
        `<td class="p"${span}><code>docker pull ${hostSlot}/${reference}</code></td></tr>`,
    )
    for (const { platform, size } of platforms.slice(1)) rows.push(`<tr><td>${escapeHtml(platformText(platform))}</td><td class="s">${formatSize(size)}</td></tr>`)
  }
  const count = tags.length === 1 ? '1 tag' : `${tags.length} tags`
  const table = tags.length === 0 ? '<p class="e">No tags: only manifests kept by digest.</p>' : `<table><colgroup><col class="n"><col class="l"><col class="s"><col class="g"><col class="t"><col></colgroup><thead><tr><th>Tag</th><th>Platform</th><th>Size</th><th>Digest</th><th>Added</th><th>Pull</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  return `<summary><b>${escapeHtml(repository.name)}</b> <span>${count}</span></summary>${table}`
}

/** What a pull command names as the registry: the public host, or a placeholder the script fills in. */
function hostMarkup(publicHost: string | undefined): string {
  return publicHost === undefined ? '<span class="h">&lt;registry&gt;</span>' : `<span class="h" data-fixed="">${escapeHtml(publicHost)}</span>`
}

/** The fragment as it stands in a page (pull commands naming the host). */
export function placeFragment(fragment: string, publicHost: string | undefined): string {
  return fragment.split(hostSlot).join(hostMarkup(publicHost))
}

/** Repositories open on the page when the whole site has at most this many tags; past it, closed. */
const openTagsLimit = 200

/**
 * Past this many tags in the whole site, the page lists repositories only (name, tag count, a link to
 * the tags list): a row per tag would make a page no one reads (100,000 tags: 33 MB of HTML), which
 * every rebuild would rewrite.
 */
export const detailedTagsLimit = 25_000

/** How a page shows its repositories: what its blocks were made for, so the next build knows whether it may reuse them. */
export interface PageLayout {
  publicHost: string | undefined
  /** Repositories shown open (a small site), closed, or listed without their tags (a site past detailedTagsLimit). */
  shown: 'open' | 'closed' | 'listed'
}

export function pageLayout(publicHost: string | undefined, tags: number): PageLayout {
  return { publicHost, shown: tags <= openTagsLimit ? 'open' : tags <= detailedTagsLimit ? 'closed' : 'listed' }
}

/** The first line of a page, naming its layout. */
function pageStamp(layout: PageLayout): string {
  return `<!doctype html><!-- zreg catalog ${pageFormat} ${layout.publicHost === undefined ? '-' : encodeURIComponent(layout.publicHost)} ${layout.shown} -->\n`
}

const blockStart = Buffer.from('<!--r ')
const blocksEnd = Buffer.from('</main>')
const markerClose = Buffer.from('-->')

/**
 * One repository's block of the page: its key (so the next build finds it), and its fragment with the
 * host placed, or a note when the fragment could not be read.
 */
export function pageBlock(repository: { name: string; key: string; tags: number }, fragment: string | undefined, layout: PageLayout): Buffer {
  const shown = fragment === undefined
    ? `<summary><b>${escapeHtml(repository.name)}</b> <span>${repository.tags} tags</span></summary><p class="e">Details unavailable: run zreg build again.</p>`
    : placeFragment(fragment, layout.publicHost)
  return Buffer.from(`<!--r ${repository.key}--><details${layout.shown === 'open' ? ' open' : ''}>${shown}</details>\n`)
}

/**
 * What marks a repository's block on a page that lists repositories only, in place of its key: all
 * the block shows (a name holds no ">", so no "-->"). A tag moved leaves the block as it was.
 */
export function listedBlockId(repository: { name: string; tags: number }): string {
  return `${repository.tags} ${repository.name}`
}

/** A repository on a page that lists repositories only: made from its name and tag count, no manifest read. */
export function listedBlock(repository: { name: string; tags: number }): Buffer {
  const count = repository.tags === 1 ? '1 tag' : `${repository.tags} tags`
  // encodeURI keeps a repository name's slashes; escapeHtml then makes the address safe in the attribute.
  const list = escapeHtml(encodeURI(`v2/${repository.name}/tags/list`))
  return Buffer.from(`<!--r ${listedBlockId(repository)}--><details><summary><b>${escapeHtml(repository.name)}</b> <span>${count}</span></summary><p class="e">Its tags: <a href="${list}">${list}</a></p></details>\n`)
}

/**
 * Where each repository's block lies in a page made with `layout`, by repository key (listedBlockId on
 * a page that lists repositories only): the next build copies them as bytes, never decoding the page.
 * Empty for a page of another format or layout, or none.
 */
export function pageBlocks(page: Buffer | undefined, layout: PageLayout): Map<string, { start: number; end: number }> {
  const blocks = new Map<string, { start: number; end: number }>()
  const stamp = Buffer.from(pageStamp(layout))
  if (page === undefined || !page.subarray(0, stamp.length).equals(stamp)) return blocks
  const last = page.lastIndexOf(blocksEnd)
  let at = page.indexOf(blockStart)
  while (at >= 0 && at < last) {
    const keyEnd = page.indexOf(markerClose, at)
    const next = page.indexOf(blockStart, keyEnd)
    const end = next < 0 || next > last ? last : next
    blocks.set(page.toString('latin1', at + blockStart.length, keyEnd), { start: at, end })
    at = next
  }
  return blocks
}

const style = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}header p{margin:.2em 0;color:#555}a{color:#0b5cad}
details{border:1px solid #d6dbe1;border-radius:6px;margin:.6em 0;background:#fbfcfd}
summary{cursor:pointer;padding:.55em .8em;font-size:1.05em}summary span{color:#666;font-size:.85em;margin-left:.5em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em;table-layout:fixed}
col.n{width:11%}col.l{width:13%}col.s{width:7%}col.g{width:13%}col.t{width:14%}
th,td{text-align:left;padding:.35em .8em;border-top:1px solid #e6e9ed;vertical-align:top}
th{font-weight:600;color:#555;background:#f3f5f7}
td.n{font-weight:600;word-break:break-all}td.s,td.t{white-space:nowrap}
td.g code{display:inline-block;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
code{font:.88em/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td.p code{user-select:all;background:#f3f5f7;border-radius:4px;padding:.15em .35em;word-break:break-all}
.o{font-size:.8em;background:#fff3c4;border:1px solid #e0c060;border-radius:3px;padding:0 .3em;margin-left:.3em}.d{font-weight:400;color:#555;font-size:.9em;word-break:break-word}.e{margin:.5em .8em;color:#666}
button{font-size:.75em;margin-left:.4em;padding:0 .4em;cursor:pointer}#f{font-size:1em;padding:.3em .5em;width:20em;margin:.6em 0}
footer{margin-top:2em;color:#777;font-size:.85em}`

/** Progressive additions: the host the page is served from, copy buttons, a filter. The page is whole without them. */
const script = `(function(){var h=location.host;if(h)document.querySelectorAll('.h:not([data-fixed])').forEach(function(e){e.textContent=h});
document.querySelectorAll('td.p code').forEach(function(c){if(!navigator.clipboard)return;var b=document.createElement('button');b.type='button';b.textContent='Copy';
b.onclick=function(){navigator.clipboard.writeText(c.textContent).then(function(){b.textContent='Copied'})};c.after(b)});
var f=document.createElement('input');f.id='f';f.type='search';f.placeholder='Filter repositories';document.querySelector('header').append(f);
f.oninput=function(){var q=f.value.toLowerCase();document.querySelectorAll('main details').forEach(function(d){d.hidden=q!==''&&d.querySelector('summary b').textContent.indexOf(q)<0})}})()`

/** What comes before a page's repository blocks. */
export function pageHead(totals: { repositories: number; tags: number }, layout: PageLayout): Buffer {
  const { repositories, tags } = totals
  return Buffer.from(
    `${pageStamp(layout)}<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Container registry</title><style>${style}</style></head><body>` +
      `<header><h1>Container registry</h1><p>${repositories} ${repositories === 1 ? 'repository' : 'repositories'}, ${tags} ${tags === 1 ? 'tag' : 'tags'}. ` +
      `Pull with <code>docker pull ${hostMarkup(layout.publicHost)}/REPOSITORY:TAG</code> (or podman, skopeo, containerd).</p>` +
      (layout.shown === 'listed' ? `<p>Over ${detailedTagsLimit.toLocaleString('en-US')} tags: each repository links its list of tags.</p>` : '') +
      `</header><main>\n`,
  )
}

/** What comes after a page's repository blocks. */
export function pageTail(repositories: number): Buffer {
  const empty = repositories === 0 ? '<p>No images yet: add some with <code>zreg add</code> and build again.</p>' : ''
  return Buffer.from(`${empty}</main><footer>A static registry built by zreg. API root: <a href="v2/">v2/</a></footer><script>${script}</script></body></html>\n`)
}
