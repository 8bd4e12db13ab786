import assert from 'node:assert/strict'
import { test } from 'node:test'
import { detailedTagsLimit, escapeHtml, formatSize, pageBlock, pageBlocks, pageHead, pageLayout, pageTail } from '../../src/build/catalog-page.js'
import { treePaths } from '../../src/build/tree-paths.js'
import { assemblePage } from '../../src/build/write-page.js'

test('sizes read as docker shows them (decimal units)', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1536, '1.5 kB'],
    [99_499, '99 kB'],
    [3_400_000, '3.4 MB'],
    [1_000_000_000, '1.0 GB'],
    [5_000_000_000_000_000, '5000 TB'],
  ]
  for (const [bytes, shown] of cases) assert.equal(formatSize(bytes), shown, String(bytes))
})

test('text from images is escaped: markup, quotes (attributes) and ampersands', () => {
  assert.equal(escapeHtml(`<script>"x" & 'y'</script>`), '&#60;script&#62;&#34;x&#34; &#38; &#39;y&#39;&#60;/script&#62;')
  assert.equal(escapeHtml('plain/name:1.0'), 'plain/name:1.0')
})

const page = (blocks: Buffer[], layout = pageLayout(undefined, 3)) => Buffer.concat([pageHead({ repositories: blocks.length, tags: 3 }, layout), ...blocks, pageTail(blocks.length)])

test('a page gives back each repository block by key, for the next build to copy', () => {
  const layout = pageLayout(undefined, 3)
  const blocks = [pageBlock({ name: 'a', key: 'ka', tags: 1 }, '<summary>a</summary>', layout), pageBlock({ name: 'b', key: 'kb', tags: 2 }, undefined, layout)]
  const whole = page(blocks, layout)
  const found = pageBlocks(whole, layout)
  assert.deepEqual([...found.keys()], ['ka', 'kb'])
  assert.deepEqual(whole.subarray(found.get('ka')!.start, found.get('ka')!.end), blocks[0])
  assert.deepEqual(whole.subarray(found.get('kb')!.start, found.get('kb')!.end), blocks[1])
  assert.ok(blocks[1]!.toString().includes('Details unavailable'))
})

test('blocks of another layout (public host, open or closed) are not reused', () => {
  const layout = pageLayout(undefined, 3)
  const whole = page([pageBlock({ name: 'a', key: 'ka', tags: 1 }, '<summary>a</summary>', layout)], layout)
  assert.equal(pageBlocks(whole, pageLayout('registry.example.com', 3)).size, 0)
  assert.equal(pageBlocks(whole, pageLayout(undefined, 10_000)).size, 0)
  assert.equal(pageBlocks(undefined, layout).size, 0)
  assert.equal(pageBlocks(Buffer.from('<html>something else</html>'), layout).size, 0)
})

test('the public host fills every pull command of a fragment, escaped', () => {
  const layout = pageLayout('reg.example.com:5000', 1)
  const block = pageBlock({ name: 'a', key: 'k', tags: 1 }, '<td><code>docker pull <zreg-host>/a:1</code></td>', layout).toString()
  assert.ok(block.includes('docker pull <span class="h" data-fixed="">reg.example.com:5000</span>/a:1'))
  assert.ok(!block.includes('<zreg-host>'))
})

test('past detailedTagsLimit tags the page lists repositories, each with its tag count and a link to its tags list, and reads no fragment', () => {
  const site = (tags: number) => ({
    repositories: [
      { name: 'team/app', input: 'i1', key: 'k1' },
      { name: 'tools', input: 'i2', key: 'k2' },
    ],
    rootFiles: [],
    defaultPlatform: { architecture: 'amd64', os: 'linux' },
    cacheMaxAge: 60,
    key: `site-${tags}`,
  })
  const tags = (first: number) => new Map([['team/app', first], ['tools', 1]])
  // The paths name nothing that exists: a listed page reads no fragment and no earlier page.
  const paths = treePaths('/nonexistent/zreg-site')
  const listed = Buffer.concat(assemblePage(paths, site(detailedTagsLimit + 1), 'no-such-generation', { fresh: new Map(), tags: tags(detailedTagsLimit) }).parts).toString()
  assert.match(listed, /<b>team\/app<\/b> <span>25000 tags<\/span>.*<a href="v2\/team\/app\/tags\/list">/)
  assert.match(listed, /<b>tools<\/b> <span>1 tag<\/span>/)
  assert.match(listed, /Over 25,000 tags: each repository links its list of tags/)
  assert.ok(!listed.includes('<table>'))
  // At the limit, each repository still shows its tags (here its fragment is missing: the note says so).
  const detailed = Buffer.concat(assemblePage(paths, site(detailedTagsLimit), undefined, { fresh: new Map(), tags: tags(detailedTagsLimit - 1) }).parts).toString()
  assert.ok(detailed.includes('Details unavailable'))
})
