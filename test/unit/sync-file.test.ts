import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { credentialKeys, loadSyncFile, parseSyncFile, registryKeys, type SyncFileProblem } from '../../src/sync/sync-file.js'
import { repoRoot, tempDir } from '../helpers/paths.js'

const digest = 'sha256:0000000000000000000000000000000011111111111111111111111111111111'

// skopeo-sync(1), "YAML file content (used source for --src yaml)", as the man page prints it.
const skopeoExample = `registry.example.com:
    images:
        busybox: []
        redis:
            - "1.0"
            - "2.0"
            - "${digest}"
    images-by-tag-regex:
        nginx: ^1\\.13\\.[12]-alpine-perl$
    images-by-semver:
        alpine: ">= 3.12.0"
    credentials:
        username: john
        password: this is a secret
    tls-verify: true
    cert-dir: /home/john/certs
quay.io:
    tls-verify: false
    images:
        coreos/etcd:
            - latest
`

test("skopeo sync's documented YAML file parses unchanged", () => {
  assert.deepEqual(parseSyncFile(skopeoExample, 'sync.yml', {}), [
    {
      registry: 'registry.example.com',
      images: [
        { repository: 'busybox', refs: [] },
        { repository: 'redis', refs: ['1.0', '2.0', digest] },
      ],
      imagesByTagRegex: [{ repository: 'nginx', pattern: /^1\.13\.[12]-alpine-perl$/ }],
      imagesBySemver: [{ repository: 'alpine', constraint: '>= 3.12.0' }],
      credentials: { username: 'john', password: 'this is a secret' },
      tlsVerify: true,
      certDir: '/home/john/certs',
    },
    { registry: 'quay.io', images: [{ repository: 'coreos/etcd', refs: ['latest'] }], imagesByTagRegex: [], imagesBySemver: [], tlsVerify: false },
  ])
})

test("zreg's keys, empty values as skopeo reads them, and values YAML would read as numbers", () => {
  const text = `registry.example.com:
  images:
    busybox: []                # every tag
    redis: [1.0, 2.0, 10, "sha256:${'a'.repeat(64)}"]
    coreos/etcd:               # null: every tag
  images-by-tag-regex:
    nginx: (?i)^1\\.13\\.[12]-ALPINE-perl$
    tagged: 1.13
  images-by-semver:
    alpine: ">= 3.12.0"
    node: 20
  credentials: { username: 1234, password: "\${REG_PASSWORD}" }
  platforms: [linux/amd64, linux/arm64/v8]
  keep-last: 3
  with-referrers: true
  prefix: mirror/
localhost:5000:
quay.io/coreos:
  images:
    etcd: [latest, latest]
  prefix: mirror
`
  assert.deepEqual(parseSyncFile(text, 'sync.yaml', { REG_PASSWORD: 's3cret' }), [
    {
      registry: 'registry.example.com',
      images: [
        { repository: 'busybox', refs: [] },
        { repository: 'redis', refs: ['1.0', '2.0', '10', `sha256:${'a'.repeat(64)}`] },
        { repository: 'coreos/etcd', refs: [] },
      ],
      imagesByTagRegex: [
        { repository: 'nginx', pattern: /^1\.13\.[12]-ALPINE-perl$/i },
        { repository: 'tagged', pattern: /1.13/ },
      ],
      imagesBySemver: [
        { repository: 'alpine', constraint: '>= 3.12.0' },
        { repository: 'node', constraint: '20' },
      ],
      credentials: { username: '1234', password: 's3cret' },
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
      keepLast: 3,
      withReferrers: true,
      prefix: 'mirror/',
    },
    { registry: 'localhost:5000', images: [], imagesByTagRegex: [], imagesBySemver: [] },
    // A path in the key (skopeo builds quay.io/coreos/etcd from it) goes in front of the repositories.
    { registry: 'quay.io', images: [{ repository: 'coreos/etcd', refs: ['latest'] }], imagesByTagRegex: [], imagesBySemver: [], prefix: 'mirror/' },
  ])
})

test('anchors, aliases and merge keys (<<) as Go YAML reads them; an alias loop or bomb is refused', () => {
  const text = `registry.example.com: &base
  tls-verify: false
  credentials: { username: robot, password: pw }
  images:
    app: &tags [latest, "1.0"]
mirror.example.com:
  <<: *base
  tls-verify: true
  images:
    other: *tags
`
  const [, merged] = parseSyncFile(text, 'sync.yaml', {})
  assert.deepEqual(merged, {
    registry: 'mirror.example.com',
    images: [{ repository: 'other', refs: ['latest', '1.0'] }],
    imagesByTagRegex: [],
    imagesBySemver: [],
    credentials: { username: 'robot', password: 'pw' },
    tlsVerify: true, // the mapping's own key wins over the merged one
  })
  assert.equal(problemsOf('r.io: &r\n  images:\n    a: [latest]\n  <<: *r\n').message, 'sync.yaml line 4: r.io: the alias (*name) refers to a value that contains it')
  assert.equal(problemsOf('r.io:\n  <<: [1]\n').message, 'sync.yaml line 2: r.io: a merge key (<<) takes a mapping or a list of mappings')
  // An anchored mistake is reported where it is written.
  assert.equal(problemsOf('r.io: &r\n  keep-last: 0\nq.io:\n  <<: *r\n').message, 'sync.yaml line 2: r.io › keep-last: must be at least 1, not 0\nsync.yaml line 2: q.io › keep-last: must be at least 1, not 0')
  const bomb = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]', ...Array.from({ length: 5 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`), 'r.io:\n  images:\n    app: *f'].join('\n')
  assert.match(problemsOf(bomb).message, /more than 100 aliases \(\*name\): write the values out/)
})

test('registry keys: host names, IP addresses, ports', () => {
  const keys = ['docker.io', 'localhost:5000', '127.0.0.1:5000', '[::1]:5000', 'registry-1.example.com', 'xn--bcher-kva.example', 'ghcr.io/owner']
  const text = keys.map((key) => `${key.includes(':') || key.startsWith('[') ? JSON.stringify(key) : key}:\n  images:\n    app: []\n`).join('')
  assert.deepEqual(
    parseSyncFile(text, 'sync.yaml', {}).map((registry) => [registry.registry, registry.images[0]?.repository]),
    [['docker.io', 'app'], ['localhost:5000', 'app'], ['127.0.0.1:5000', 'app'], ['[::1]:5000', 'app'], ['registry-1.example.com', 'app'], ['xn--bcher-kva.example', 'app'], ['ghcr.io', 'owner/app']],
  )
})

test('tls-verify: no, as Go YAML (skopeo) reads a plain YAML 1.1 boolean into a bool', () => {
  const text = 'a.io:\n  tls-verify: no\nb.io:\n  tls-verify: On\n  with-referrers: y\nc.io:\n  tls-verify: ${TLS:-off}\n'
  assert.deepEqual(
    parseSyncFile(text, 'sync.yaml', {}).map((registry) => [registry.registry, registry.tlsVerify, registry.withReferrers]),
    [
      ['a.io', false, undefined],
      ['b.io', true, true],
      ['c.io', false, undefined],
    ],
  )
  // Quoted, it is text to Go as well: an error (see the table below).
  assert.match(problemsOf('a.io:\n  tls-verify: "no"\n').message, /must be true or false, not the text "no"/)
})

test('${VAR} and ${VAR:-default} in values; a plain ${VAR} for a boolean or number reads as one', () => {
  const text = `r.example.com:
  images:
    app: ["\${TAG}", "\${OTHER:-2.0}", "pre-\${EMPTY:-x}"]
  credentials:
    username: \${USER_NAME:-robot}
    password: \${REG_PASSWORD}
  cert-dir: \${HOME}/certs
  tls-verify: \${TLS_VERIFY:-false}
  keep-last: \${KEEP:-5}
  with-referrers: \${REFERRERS}
`
  const [registry] = parseSyncFile(text, 'sync.yaml', { TAG: '1.0', EMPTY: '', REG_PASSWORD: 'pw', HOME: '/home/ci', REFERRERS: 'true' })
  assert.deepEqual(registry, {
    registry: 'r.example.com',
    images: [{ repository: 'app', refs: ['1.0', '2.0', 'pre-x'] }],
    imagesByTagRegex: [],
    imagesBySemver: [],
    credentials: { username: 'robot', password: 'pw' },
    certDir: '/home/ci/certs',
    tlsVerify: false,
    keepLast: 5,
    withReferrers: true,
  })
})

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): { message: string; problems: SyncFileProblem[] } {
  try {
    parseSyncFile(text, 'sync.yaml', env)
  } catch (error) {
    assert.ok(error instanceof ZregError, String(error))
    assert.equal(error.code, 'SYNC_FILE_INVALID')
    return { message: error.message, problems: error.detail as SyncFileProblem[] }
  }
  assert.fail(`accepted:\n${text}`)
}

test('every kind of mistake is SYNC_FILE_INVALID naming the file, the line and the key path', () => {
  const cases: [string, string, NodeJS.ProcessEnv?][] = [
    // the example message: line 7 holds alpine's constraint
    [
      'registry.example.com:\n  images:\n    busybox: []\n  images-by-tag-regex:\n    nginx: ^1\\.13$\n  images-by-semver:\n    alpine: banana\n',
      'sync.yaml line 7: registry.example.com › images-by-semver › alpine: "banana" is not a semver constraint: write comparisons such as ">= 3.12.0", "~1.2", "^1", ">=1.2, <3.0" or "1.2 || 2.x"',
    ],
    ['r.io:\n  images:\n    a: [1\n', 'sync.yaml line 4: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['r.io:\n  images: {}\n  images: {}\n', 'sync.yaml line 3: not valid YAML: Map keys must be unique'],
    ['r.io:\n  images: {}\n---\nq.io: {}\n', 'sync.yaml line 3: not valid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()'],
    ['r.io:\n  images: {}\n  tls_verify: false\n', 'sync.yaml line 3: r.io › tls_verify: unknown key "tls_verify": did you mean "tls-verify"?'],
    ['r.io:\n  images-by-tag-regexp:\n    a: x\n', 'sync.yaml line 2: r.io › images-by-tag-regexp: unknown key "images-by-tag-regexp": did you mean "images-by-tag-regex"?'],
    ['r.io:\n  KeepLast: 2\n', 'sync.yaml line 2: r.io › KeepLast: unknown key "KeepLast": did you mean "keep-last"?'],
    ['r.io:\n  mirrors: []\n', `sync.yaml line 2: r.io › mirrors: unknown key "mirrors": the keys here are ${registryKeys.join(', ')}`],
    ['r.io:\n  credentials:\n    username: a\n    passwd: b\n', 'sync.yaml line 2: r.io › credentials: needs the key "password"\nsync.yaml line 4: r.io › credentials › passwd: unknown key "passwd": did you mean "password"?'],
    ['r.io:\n  images:\n    redis: latest\n', 'sync.yaml line 3: r.io › images › redis: must be a list of tags and digests (or empty for every tag), not the text "latest": write ["latest"] for that tag, or [] for every tag'],
    ['r.io:\n  images:\n    redis: [latest, [1]]\n', 'sync.yaml line 3: r.io › images › redis[1]: must be text, not a list'],
    ['r.io:\n  tls-verify: "no"\n', 'sync.yaml line 2: r.io › tls-verify: must be true or false, not the text "no"'],
    ['r.io:\n  keep-last: 0\n', 'sync.yaml line 2: r.io › keep-last: must be at least 1, not 0'],
    ['r.io:\n  keep-last: 2.5\n', 'sync.yaml line 2: r.io › keep-last: must be a whole number, not 2.5'],
    ['r.io:\n  keep-last: "${KEEP}"\n', 'sync.yaml line 2: r.io › keep-last: must be a whole number, not the text "3"', { KEEP: '3' }],
    ['r.io:\n  platforms: []\n', 'sync.yaml line 2: r.io › platforms: must list at least one; drop the key to keep every one'],
    ['r.io:\n  platforms:\n    - linux/amd64\n    - linux\n', 'sync.yaml line 4: r.io › platforms[1]: "linux" is not a platform: write os/arch or os/arch/variant, e.g. linux/arm64/v8'],
    ['r.io:\n  images:\n    Library/Redis: []\n', 'sync.yaml line 3: r.io › images › Library/Redis: "Library/Redis" is not a repository name: lowercase components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"; repository names are lowercase: "library/redis"'],
    ['r.io:\n  images-by-semver:\n    -bad: ">=1"\n', 'sync.yaml line 3: r.io › images-by-semver › -bad: "-bad" is not a repository name: lowercase components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"'],
    ['r.io:\n  images:\n    redis:\n      - "1.0"\n      - "bad tag"\n', 'sync.yaml line 5: r.io › images › redis[1]: "bad tag" is neither a tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128 characters) nor a digest (sha256:...)'],
    ['r.io:\n  images:\n    redis: ["sha256:abc"]\n', 'sync.yaml line 3: r.io › images › redis[0]: "sha256:abc" is not a digest: write sha256: and 64 lowercase hex digits'],
    ['r.io:\n  images:\n    redis: [".hidden"]\n', 'sync.yaml line 3: r.io › images › redis[0]: ".hidden" is neither a tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128 characters) nor a digest (sha256:...)'],
    ['r.io:\n  images-by-tag-regex:\n    nginx: "^1(?=\\\\.)"\n', 'sync.yaml line 3: r.io › images-by-tag-regex › nginx: invalid regular expression "^1(?=\\\\.)": lookahead and lookbehind are not in Go\'s RE2 syntax (skopeo refuses them); match the tags you want directly'],
    ['r.io:\n  images-by-tag-regex:\n    nginx: "[1-"\n', 'sync.yaml line 3: r.io › images-by-tag-regex › nginx: invalid regular expression "[1-": Unterminated character class'],
    ['r.io:\n  prefix: Mirror/\n', 'sync.yaml line 2: r.io › prefix: "Mirror" is not a repository name: lowercase components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"; repository names are lowercase: "mirror" (the prefix is put in front of each stored name)'],
    ['r.io:\n  prefix: /\n', 'sync.yaml line 2: r.io › prefix: is empty: drop the key, or write a name such as mirror/'],
    [`r.io:\n  prefix: ${'m'.repeat(250)}/\n  images:\n    library/busybox: []\n`, `sync.yaml line 4: r.io › images › library/busybox: the stored name "${'m'.repeat(250)}/library/busybox" is longer than 255 characters; use a shorter prefix`],
    ['Registry.Example.com:\n  images: {}\n', 'sync.yaml line 1: Registry.Example.com: "Registry.Example.com" is not a registry: host names are lowercase here, write "registry.example.com"'],
    ['https://r.io:\n  images: {}\n', 'sync.yaml line 1: https://r.io: "https://r.io" is not a registry: drop the scheme and write host[:port], e.g. r.io'],
    ['r.io:99999:\n  images: {}\n', 'sync.yaml line 1: r.io:99999: "r.io:99999" is not a registry: its port must be 1 to 65535'],
    ['r_io:\n  images: {}\n', 'sync.yaml line 1: r_io: "r_io" is not a registry: write host[:port], e.g. docker.io or registry.example.com:5000'],
    ['quay.io/Core:\n  images: {}\n', 'sync.yaml line 1: quay.io/Core: "Core" is not a repository name: lowercase components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"; repository names are lowercase: "core"'],
    ['images:\n  busybox: []\n', 'sync.yaml line 1: images: "images" is a key of a registry, not a registry: indent it under one, e.g. docker.io:'],
    ['r.io: [a, b]\n', 'sync.yaml line 1: r.io: must be a mapping of keys or empty, not a list'],
    ['- r.io\n', 'sync.yaml line 1: (top level): must be a mapping of keys or empty, not a list'],
    ['', 'sync.yaml: lists no registry: write each registry (e.g. docker.io:) with its images, as skopeo sync reads them'],
    ['# nothing yet\n', 'sync.yaml: lists no registry: write each registry (e.g. docker.io:) with its images, as skopeo sync reads them'],
    ['r.io:\n  credentials:\n    username: robot\n    password: ${REG_PASSWORD}\n', 'sync.yaml line 4: r.io › credentials › password: uses ${REG_PASSWORD}, which is not set: set it, or write ${REG_PASSWORD:-default}'],
    ['r.io:\n  images:\n    [a]: []\n', 'sync.yaml line 3: r.io › images: a key must be plain text'],
  ]
  for (const [text, expected, env] of cases) assert.equal(problemsOf(text, env).message, expected, text)
})

test('all problems at once, by line, with the details for --json', () => {
  const text = `r.io:
  keep-last: 0
  images:
    Redis: [latest]
  images-by-semver:
    alpine: banana
  platforms: [linux]
q.io:
  tls-verify: maybe
`
  const { message, problems } = problemsOf(text)
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.path]),
    [
      [2, 'r.io › keep-last'],
      [4, 'r.io › images › Redis'],
      [6, 'r.io › images-by-semver › alpine'],
      [7, 'r.io › platforms[0]'],
      [9, 'q.io › tls-verify'],
    ],
  )
  assert.equal(message.split('\n').length, 5)
  assert.match(message, /^sync\.yaml line 2: r\.io › keep-last: must be at least 1/)
})

test('the schema and the keys the suggestions come from agree', async () => {
  const schema = JSON.parse(await readFile(join(repoRoot, 'schemas', 'sync-file.json'), 'utf8')) as { definitions: { registry: { properties: Record<string, { properties?: object }> } } }
  const properties = schema.definitions.registry.properties
  assert.deepEqual(Object.keys(properties).sort(), [...registryKeys].sort())
  assert.deepEqual(Object.keys(properties.credentials?.properties ?? {}).sort(), [...credentialKeys].sort())
})

test('loadSyncFile reads the file; one it cannot read is SYNC_FILE_INVALID naming it', async () => {
  const dir = await tempDir('sync-file')
  const file = join(dir, 'sync.yml')
  await writeFile(file, skopeoExample)
  assert.deepEqual(await loadSyncFile(file, {}), parseSyncFile(skopeoExample, file, {}))
  await writeFile(file, 'r.io:\n  images:\n    a: [latest]\n  keep-last: -1\n')
  await assert.rejects(loadSyncFile(file, {}), (error: unknown) => error instanceof ZregError && error.code === 'SYNC_FILE_INVALID' && error.message === `${file} line 4: r.io › keep-last: must be at least 1, not -1`)
  const missing = join(dir, 'missing.yml')
  await assert.rejects(loadSyncFile(missing, {}), (error: unknown) => error instanceof ZregError && error.code === 'SYNC_FILE_INVALID' && error.message.includes(missing) && /no such file/.test(error.message))
  await assert.rejects(loadSyncFile(dir, {}), (error: unknown) => error instanceof ZregError && error.code === 'SYNC_FILE_INVALID' && error.message.includes(dir))
})
