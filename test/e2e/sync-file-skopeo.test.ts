import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { execa } from 'execa'
import { parseSyncFile } from '../../src/sync/sync-file.js'
import { tagsMatching } from '../../src/sync/tag-selection.js'
import { zregOk } from '../helpers/cli.js'
import { fixturesDir, tempDir } from '../helpers/paths.js'
import { startZregServe, type TestServer } from '../helpers/servers.js'

// The same sync file must select the same tags in zreg as in skopeo sync (which reads it with Go's
// YAML decoder and Go's regexp): skopeo's --dry-run names what it would copy.

const tags = ['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.3-alpine-perl', 'x1.13.1-alpine-perl', '1.13.1-alpine', 'V1.2', 'v1.20', '1.2', 'latest', 'ABC', '2024_01']

let server: TestServer
let work: string

before(async () => {
  work = await tempDir('sync-skopeo')
  const store = join(work, 'store')
  for (const tag of tags) await zregOk(['add', `oci-archive:${join(fixturesDir, 'single.oci.tar')}`, '--name', `app:${tag}`, '--store', store])
  await zregOk(['build', '--store', store, '--out', join(work, 'site')])
  server = await startZregServe(join(work, 'site'))
})

after(async () => {
  await server?.stop()
})

/** What `skopeo sync --dry-run` would copy for this file: repository:tag as it names them. */
async function skopeoSelection(file: string): Promise<{ refs: string[]; log: string }> {
  // Even a dry run makes the destination directories, and refuses existing ones: one destination per file.
  const result = await execa('skopeo', ['sync', '--dry-run', '--src', 'yaml', '--dest', 'dir', file, `${file}.out`], { reject: false, all: true })
  const log = String(result.all)
  const refs = [...log.matchAll(/Would have copied image ref \d+\/\d+" from="docker:\/\/[^/]+\/([^"]+)"/g)].map((match) => match[1]!)
  return { refs: refs.sort(), log }
}

let files = 0
/** A sync file for the test registry (plain HTTP, so tls-verify: false unless `settings` says otherwise). */
async function syncFile(body: string, settings = '  tls-verify: false\n'): Promise<string> {
  const file = join(work, `sync-${++files}.yaml`)
  await writeFile(file, `"${server.authority}":\n${settings}${body}`)
  return file
}

test('images-by-tag-regex: Go patterns select the same tags in zreg as in skopeo sync', async () => {
  const patterns = [
    '^1\\.13\\.[12]-alpine-perl$', // skopeo-sync(1)'s example
    'alpine$',
    '^1\\.2', // unanchored at the end: 1.2 only
    '1\\.2', // and at the start: V1.2 and v1.20 too
    '(?i)^v1',
    '^[[:digit:]]+\\.[[:digit:]]+$',
    '\\Av1\\.20\\z',
    '^(?P<major>\\d+)\\.13\\.\\d',
    '[[:upper:]]',
    '^\\Q1.2\\E$',
    '^[]x]',
    '^[^[:alpha:]]+$',
  ]
  for (const pattern of patterns) {
    const file = await syncFile(`  images-by-tag-regex:\n    app: '${pattern}'\n`)
    const [registry] = parseSyncFile(`"${server.authority}":\n  images-by-tag-regex:\n    app: '${pattern}'\n`, file, {})
    const ours = tagsMatching(tags, registry!.imagesByTagRegex[0]!.pattern).map((tag) => `app:${tag}`).sort()
    const theirs = await skopeoSelection(file)
    assert.deepEqual(ours, theirs.refs, `${pattern}\n${theirs.log}`)
    assert.ok(ours.length > 0, `${pattern} selects something`)
  }
})

test("a pattern Go's RE2 refuses is refused by zreg too, with the reason", async () => {
  for (const [pattern, reason] of [
    ['a(?=b)', /lookahead and lookbehind/],
    ['(l)\\1', /backreference/],
  ] as const) {
    const file = await syncFile(`  images-by-tag-regex:\n    app: '${pattern}'\n`)
    const theirs = await skopeoSelection(file)
    assert.deepEqual(theirs.refs, [])
    assert.match(theirs.log, /Error parsing regex/)
    assert.throws(() => parseSyncFile(`r.io:\n  images-by-tag-regex:\n    app: '${pattern}'\n`, 'sync.yaml', {}), reason)
  }
})

test("images: unquoted refs such as 1.2 are the tags skopeo copies, not numbers; skopeo ignores zreg's keys", async () => {
  // YAML would read 1.20 as the number 1.2
  const body = '  images:\n    app: [1.2, 1.20, 1.10, latest, V1.2]\n  platforms: [linux/amd64]\n  keep-last: 2\n  with-referrers: true\n  prefix: mirror/\n'
  const file = await syncFile(body)
  const [registry] = parseSyncFile(`"${server.authority}":\n${body}`, file, {})
  assert.deepEqual(registry!.images[0]!.refs, ['1.2', '1.20', '1.10', 'latest', 'V1.2'])
  assert.deepEqual(registry!.images[0]!.refs.map((ref) => `app:${ref}`).sort(), (await skopeoSelection(file)).refs)
})

test('tls-verify takes what Go YAML takes for a bool: plain yes/no/on/off too, quoted text not', async () => {
  for (const value of ['false', 'no', 'off', 'N', '"no"', "'off'", 'banana', '0']) {
    const body = `  tls-verify: ${value}\n  images:\n    app: [latest]\n`
    const theirs = await skopeoSelection(await syncFile(body, ''))
    const skopeoTakes = !/level=fatal msg="Failed to unmarshal/.test(theirs.log)
    let zregTakes = true
    try {
      parseSyncFile(`"${server.authority}":\n${body}`, 'sync.yaml', {})
    } catch {
      zregTakes = false
    }
    assert.equal(zregTakes, skopeoTakes, `tls-verify: ${value}\n${theirs.log}`)
  }
})
