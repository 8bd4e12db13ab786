import { readFile } from 'node:fs/promises'
import type { ErrorObject } from 'ajv'
import levenshtein from 'fast-levenshtein'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLMap } from 'yaml'
import { expandEnvVariables } from '../config.js'
import { systemError, ZregError } from '../errors.js'
import { isDigest } from '../oci/digest.js'
import { parsePlatform, type Platform } from '../oci/platform.js'
import { isRepository, isTag } from '../oci/reference.js'
import { schemaErrors } from '../oci/validate.js'
import { compileGoRegexp } from './go-regexp.js'
import { parseSemverConstraint } from './semver-constraint.js'

/** One registry of a sync file: what to mirror from it and how to reach it. */
export interface SyncRegistry {
  /** The registry, host[:port] as the YAML key names it ('docker.io', 'localhost:5000'); a path in the key goes into the repositories. */
  registry: string
  /** `images`: each repository with the tags and digests listed; refs [] means every tag. */
  images: { repository: string; refs: string[] }[]
  /** `images-by-tag-regex`: the tags the pattern matches anywhere (Go's RE2 syntax, translated; see tagsMatching). */
  imagesByTagRegex: { repository: string; pattern: RegExp }[]
  /** `images-by-semver`: the tags that are versions satisfying the constraint (see tagsInSemverRange). */
  imagesBySemver: { repository: string; constraint: string }[]
  credentials?: { username: string; password: string }
  /** `tls-verify`; absent means the command's default (verify). */
  tlsVerify?: boolean
  /** `cert-dir`: CA (*.crt) and client certificate (*.cert, *.key) files, as skopeo takes them. */
  certDir?: string
  /** zreg: only these platforms of an index; absent means every platform. */
  platforms?: Platform[]
  /** zreg: only the N newest of the tags selected for each repository (newestTags). */
  keepLast?: number
  /** zreg: also mirror the referrers (signatures, SBOMs, attestations). */
  withReferrers?: boolean
  /** zreg: the stored name is prefix + repository; always ends with '/' ('mirror' in the file gives 'mirror/'). */
  prefix?: string
}

/** One thing wrong in a sync file: where (line, key path) and what. */
export interface SyncFileProblem {
  line?: number
  path: string
  message: string
}

/** The keys a registry takes, and those of its credentials: for unknown keys' suggestions (the schema holds the same). */
export const registryKeys = ['images', 'images-by-tag-regex', 'images-by-semver', 'credentials', 'tls-verify', 'cert-dir', 'platforms', 'keep-last', 'with-referrers', 'prefix'] as const
export const credentialKeys = ['username', 'password'] as const

// Values that are not text: a ${VAR} there is read as the boolean or number it spells.
const typedKeys = new Set(['tls-verify', 'keep-last', 'with-referrers'])
const booleanKeys = new Set(['tls-verify', 'with-referrers'])
// YAML 1.1 booleans, which Go's yaml.v3 (skopeo's) still takes for a bool field when written plain.
const yaml11Booleans: Record<string, boolean> = Object.fromEntries([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((word) => [word, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((word) => [word, false]),
])

const hostPattern = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.value === '<<' && key.type === 'PLAIN'
}

interface Place {
  line: number | undefined
  /** The line of the key that holds the value (the item's own line in a list). */
  keyLine: number | undefined
  path: string
}

function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** The YAML document as plain values, remembering each value's line and key path by its JSON pointer. */
class Reader {
  readonly places = new Map<string, Place>()
  readonly problems: SyncFileProblem[] = []

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private lineOf(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.lines.linePos(offset).line
  }

  /**
   * A mapping as an object. Merge keys (`<<: *defaults`, which skopeo's Go YAML decoder applies) come
   * first, so the mapping's own keys win over merged ones as YAML says.
   */
  private readMap(node: YAMLMap, pointer: string, path: string[], line: number | undefined): Record<string, unknown> {
    const object: Record<string, unknown> = {}
    const shown = path.join(' › ')
    const set = (name: string, value: unknown): void => void Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
    const pairs = [...node.items].sort((a, b) => Number(!isMergeKey(a.key)) - Number(!isMergeKey(b.key)))
    const own = this.places.get(pointer)
    for (const pair of pairs) {
      const key = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key
      const keyAt = this.lineOf((key as { range?: [number] } | null)?.range?.[0]) ?? line
      if (isMergeKey(key)) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value]
        for (const source of sources) {
          const before = this.problems.length
          const merged = this.read(source, pointer, path, keyAt)
          if (this.problems.length > before) continue
          if (merged === null || typeof merged !== 'object' || Array.isArray(merged)) this.problems.push({ line: keyAt, path: shown || '(top level)', message: 'a merge key (<<) takes a mapping or a list of mappings' })
          else for (const [name, value] of Object.entries(merged)) set(name, value)
        }
        if (own) this.places.set(pointer, own) // reading the merged mapping placed this pointer there
        continue
      }
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.problems.push({ line: keyAt, path: shown || '(top level)', message: 'a key must be plain text' })
        continue
      }
      // A key such as 1.0 is a number to YAML and the text "1.0" to skopeo (Go decodes it into a string).
      const name = typeof key.value === 'string' ? key.value : key.source ?? String(key.value)
      set(name, this.read(pair.value, `${pointer}/${pointerSegment(name)}`, [...path, name], keyAt))
    }
    return object
  }

  /** Collections being read, to refuse an alias inside the value it names (a loop). */
  private readonly open = new Set<unknown>()
  private aliases = 0

  read(node: unknown, pointer: string, path: string[], keyLine: number | undefined): unknown {
    const shown = path.join(' › ')
    if (isAlias(node)) {
      // As yaml's own toJS, bound what aliases can expand to (a "billion laughs" file).
      if (++this.aliases > maxAliases) {
        this.problems.push({ line: keyLine, path: shown, message: `more than ${maxAliases} aliases (*name): write the values out` })
        return null
      }
      node = node.resolve(this.doc)
      if (this.open.has(node)) {
        this.problems.push({ line: keyLine, path: shown, message: 'the alias (*name) refers to a value that contains it' })
        return null
      }
    }
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range
    const empty = isScalar(node) && node.value === null && !node.source
    const line = empty || range === undefined ? keyLine : this.lineOf(range[0])
    this.places.set(pointer, { line, keyLine: keyLine ?? line, path: shown })
    if (isMap(node) || isSeq(node)) {
      this.open.add(node)
      try {
        return isMap(node) ? this.readMap(node, pointer, path, line) : node.items.map((item, i) => this.read(item, `${pointer}/${i}`, [...path.slice(0, -1), `${path.at(-1) ?? ''}[${i}]`], line))
      } finally {
        this.open.delete(node)
      }
    }
    if (!isScalar(node)) return null
    const typed = path.length === 2 && typedKeys.has(path[1]!)
    const value = node.value
    if (typeof value === 'string') {
      let substituted = false
      let text: string
      try {
        text = expandEnvVariables(value, this.env, (name) => new Error(`uses \${${name}}, which is not set: set it, or write \${${name}:-default}`))
        substituted = text !== value
      } catch (error) {
        this.problems.push({ line, path: shown, message: (error as Error).message })
        return value
      }
      if (typed && node.type === 'PLAIN') {
        const boolean = booleanKeys.has(path[1]!) ? yaml11Booleans[text] : undefined
        if (boolean !== undefined) return boolean
        if (substituted && (text === 'true' || text === 'false')) return text === 'true'
        if (substituted && /^-?\d+$/.test(text)) return Number(text)
      }
      return text
    }
    // Where skopeo wants text, Go's decoder keeps what was written: tags 1.0 and 2.0 stay "1.0" and "2.0".
    if (!typed && (typeof value === 'number' || typeof value === 'boolean')) return node.source ?? String(value)
    return value ?? null
  }
}

const maxAliases = 100

function valueAt(root: unknown, pointer: string): unknown {
  let value = root
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~')
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined
  }
  return value
}

const typeWords: Record<string, string> = { object: 'a mapping of keys', array: 'a list', string: 'text', boolean: 'true or false', integer: 'a whole number', null: 'empty' }

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`
  return JSON.stringify(value)
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  const best = candidates.map((candidate) => ({ candidate, distance: levenshtein.get(word.toLowerCase(), candidate) })).sort((a, b) => a.distance - b.distance)[0]
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined
}

/** An ajv complaint in words, placed on the line of the key or value it is about. */
function schemaProblem(error: ErrorObject, root: unknown, places: Map<string, Place>): SyncFileProblem {
  const place = places.get(error.instancePath)
  const at = { line: place?.line, path: place?.path || '(top level)' }
  const params = error.params as { additionalProperty?: string; missingProperty?: string; type?: string | string[]; limit?: number }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = params.additionalProperty ?? ''
      const keyPlace = places.get(`${error.instancePath}/${pointerSegment(key)}`)
      const known = error.instancePath.endsWith('/credentials') ? credentialKeys : registryKeys
      const suggestion = nearest(key, known)
      return {
        line: keyPlace?.keyLine ?? at.line,
        path: keyPlace?.path ?? at.path,
        message: `unknown key "${key}": ${suggestion ? `did you mean "${suggestion}"?` : `the keys here are ${known.join(', ')}`}`,
      }
    }
    case 'required':
      return { line: place?.keyLine ?? at.line, path: at.path, message: `needs the key "${params.missingProperty}"` }
    case 'type': {
      const wanted = (Array.isArray(params.type) ? params.type : [params.type ?? '']).map((type) => typeWords[type] ?? type)
      const value = valueAt(root, error.instancePath)
      const inImages = /^\/[^/]+\/images\/[^/]+$/.test(error.instancePath)
      const hint = inImages && typeof value === 'string' ? `: write [${JSON.stringify(value)}] for that tag, or [] for every tag` : ''
      return { ...at, message: `must be ${inImages ? 'a list of tags and digests (or empty for every tag)' : wanted.join(' or ')}, not ${describeValue(value)}${hint}` }
    }
    case 'minimum':
      return { ...at, message: `must be at least ${params.limit}, not ${JSON.stringify(valueAt(root, error.instancePath))}` }
    case 'minItems':
      return { ...at, message: 'must list at least one; drop the key to keep every one' }
    default:
      return { ...at, message: error.message ?? 'is invalid' }
  }
}

function repositoryProblem(name: string): string {
  const lower = name.toLowerCase()
  const hint = lower !== name && isRepository(lower) ? `; repository names are lowercase: "${lower}"` : ''
  return `"${name}" is not a repository name: lowercase components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"${hint}`
}

function registryKeyProblem(key: string): string | undefined {
  if ((registryKeys as readonly string[]).includes(key)) return `"${key}" is a key of a registry, not a registry: indent it under one, e.g. docker.io:`
  const [host = '', ...rest] = key.split('/')
  const match = hostPattern.exec(host)
  const port = match?.[1] === undefined ? undefined : Number(match[1])
  if (match && port !== undefined && !(port >= 1 && port <= 65535)) return `"${key}" is not a registry: its port must be 1 to 65535`
  if (match) return rest.length > 0 && !isRepository(rest.join('/')) ? repositoryProblem(rest.join('/')) : undefined
  if (/^[a-z]+:\/\//i.test(key)) return `"${key}" is not a registry: drop the scheme and write host[:port], e.g. ${key.replace(/^[a-z]+:\/\//i, '')}`
  if (host !== host.toLowerCase() && hostPattern.test(host.toLowerCase())) return `"${key}" is not a registry: host names are lowercase here, write "${[host.toLowerCase(), ...rest].join('/')}"`
  return `"${key}" is not a registry: write host[:port], e.g. docker.io or registry.example.com:5000`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The entries of a mapping whose values pass `accept`; nothing when it is not a mapping. */
function entriesOf<T>(value: unknown, accept: (item: unknown) => item is T): [string, T][] {
  return isRecord(value) ? Object.entries(value).filter((entry): entry is [string, T] => accept(entry[1])) : []
}

const isString = (value: unknown): value is string => typeof value === 'string'
const isRefList = (value: unknown): value is string[] | null => value === null || (Array.isArray(value) && value.every(isString))

/**
 * The checks the schema cannot make, on the values of the right shape; problems go to `problems`.
 * Returns the registry as the file describes it (meaningful only when no problem was found).
 */
function checkRegistry(key: string, value: unknown, places: Map<string, Place>, problems: SyncFileProblem[]): SyncRegistry {
  const base = `/${pointerSegment(key)}`
  const problem = (pointer: string, message: string, onKey = false): void => {
    const place = places.get(pointer)
    problems.push({ line: onKey ? place?.keyLine : place?.line, path: place?.path ?? key, message })
  }
  const keyProblem = registryKeyProblem(key)
  if (keyProblem) problem(base, keyProblem, true)
  const [host = key, ...pathParts] = key.split('/')
  const inPath = pathParts.length > 0 ? `${pathParts.join('/')}/` : ''
  const result: SyncRegistry = { registry: host, images: [], imagesByTagRegex: [], imagesBySemver: [] }
  const entry = isRecord(value) ? value : {}

  let prefix: string | undefined
  if (isString(entry.prefix)) {
    const trimmed = entry.prefix.replace(/\/$/, '')
    if (trimmed === '') problem(`${base}/prefix`, 'is empty: drop the key, or write a name such as mirror/')
    else if (!isRepository(trimmed)) problem(`${base}/prefix`, `${repositoryProblem(trimmed)} (the prefix is put in front of each stored name)`)
    else prefix = `${trimmed}/`
  }
  const repository = (section: string, name: string): string | undefined => {
    const full = `${inPath}${name}`
    const pointer = `${base}/${section}/${pointerSegment(name)}`
    if (!isRepository(full)) problem(pointer, repositoryProblem(full), true)
    else if (prefix !== undefined && !isRepository(`${prefix}${full}`)) problem(pointer, `the stored name "${prefix}${full}" is longer than 255 characters; use a shorter prefix`, true)
    else return full
    return undefined
  }

  for (const [name, refs] of entriesOf(entry.images, isRefList)) {
    const full = repository('images', name)
    const good = (refs ?? []).filter((ref, i) => {
      if (isTag(ref) || isDigest(ref)) return true
      const looksLikeDigest = /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(ref)
      problem(`${base}/images/${pointerSegment(name)}/${i}`, looksLikeDigest ? `"${ref}" is not a digest: write sha256: and 64 lowercase hex digits` : `"${ref}" is neither a tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128 characters) nor a digest (sha256:...)`)
      return false
    })
    if (full !== undefined) result.images.push({ repository: full, refs: [...new Set(good)] })
  }
  for (const [name, source] of entriesOf(entry['images-by-tag-regex'], isString)) {
    const full = repository('images-by-tag-regex', name)
    try {
      const pattern = compileGoRegexp(source)
      if (full !== undefined) result.imagesByTagRegex.push({ repository: full, pattern })
    } catch (error) {
      problem(`${base}/images-by-tag-regex/${pointerSegment(name)}`, (error as Error).message)
    }
  }
  for (const [name, constraint] of entriesOf(entry['images-by-semver'], isString)) {
    const full = repository('images-by-semver', name)
    try {
      parseSemverConstraint(constraint)
      if (full !== undefined) result.imagesBySemver.push({ repository: full, constraint })
    } catch (error) {
      problem(`${base}/images-by-semver/${pointerSegment(name)}`, (error as Error).message)
    }
  }
  if (Array.isArray(entry.platforms)) {
    result.platforms = []
    entry.platforms.forEach((text: unknown, i) => {
      if (!isString(text)) return
      try {
        result.platforms!.push(parsePlatform(text))
      } catch {
        problem(`${base}/platforms/${i}`, `"${text}" is not a platform: write os/arch or os/arch/variant, e.g. linux/arm64/v8`)
      }
    })
  }
  // The schema has checked the shapes of these.
  const credentials = entry.credentials as { username: string; password: string } | undefined
  if (credentials !== undefined) result.credentials = { username: credentials.username, password: credentials.password }
  if (entry['tls-verify'] !== undefined) result.tlsVerify = entry['tls-verify'] as boolean
  if (entry['cert-dir'] !== undefined) result.certDir = entry['cert-dir'] as string
  if (entry['keep-last'] !== undefined) result.keepLast = entry['keep-last'] as number
  if (entry['with-referrers'] !== undefined) result.withReferrers = entry['with-referrers'] as boolean
  if (prefix !== undefined) result.prefix = prefix
  return result
}

function fail(fileName: string, problems: SyncFileProblem[]): never {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
  const lines = sorted.slice(0, 10).map((problem) => `${fileName}${problem.line === undefined ? '' : ` line ${problem.line}`}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`)
  if (sorted.length > 10) lines.push(`(and ${sorted.length - 10} more)`)
  throw new ZregError('SYNC_FILE_INVALID', lines.join('\n'), { detail: sorted })
}

/**
 * Parses and validates a sync file's text: skopeo sync's YAML format (registry -> images,
 * images-by-tag-regex, images-by-semver, credentials, tls-verify, cert-dir) plus zreg's platforms,
 * keep-last, with-referrers and prefix, against schemas/sync-file.json and the checks a schema cannot
 * make (registry keys, repository names, tags and digests, regular expressions, semver constraints,
 * platforms). `${VAR}` and `${VAR:-default}` in values come from `env`.
 * Throws SYNC_FILE_INVALID listing every problem as "FILE line N: key › path: what is wrong" (detail:
 * SyncFileProblem[]). Registries come in the file's order.
 */
export function parseSyncFile(text: string, fileName: string, env: NodeJS.ProcessEnv = process.env): SyncRegistry[] {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  const syntax = doc.errors[0]
  if (syntax) {
    fail(fileName, [{ line: lines.linePos(syntax.pos[0]).line, path: '', message: `not valid YAML: ${syntax.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}` }])
  }
  const reader = new Reader(doc, lines, env)
  const root = reader.read(doc.contents, '', [], undefined)
  if (root === null || (typeof root === 'object' && !Array.isArray(root) && Object.keys(root).length === 0)) {
    fail(fileName, [{ path: '', message: 'lists no registry: write each registry (e.g. docker.io:) with its images, as skopeo sync reads them' }])
  }
  const problems = [...reader.problems]
  const misplaced = new Set<string>()
  if (typeof root === 'object' && !Array.isArray(root)) {
    for (const key of Object.keys(root)) {
      if ((registryKeys as readonly string[]).includes(key)) misplaced.add(`/${pointerSegment(key)}`)
    }
  }
  for (const pointer of misplaced) {
    const place = reader.places.get(pointer)
    problems.push({ line: place?.keyLine, path: place?.path ?? '', message: registryKeyProblem(pointer.slice(1))! })
  }
  const seen = new Set<string>()
  for (const error of schemaErrors('sync-file', root)) {
    if ([...misplaced].some((pointer) => error.instancePath === pointer || error.instancePath.startsWith(`${pointer}/`))) continue
    const found = schemaProblem(error, root, reader.places)
    const id = `${found.line}:${found.path}:${found.message}`
    if (!seen.has(id)) problems.push(found)
    seen.add(id)
  }
  // The checks below skip values of the wrong shape (the schema's problems above name them), so one run reports both.
  const registries = Object.entries(root as Record<string, unknown>)
    .filter(([key]) => !misplaced.has(`/${pointerSegment(key)}`))
    .map(([key, entry]) => checkRegistry(key, entry, reader.places, problems))
  if (problems.length > 0) fail(fileName, problems)
  return registries
}

/** Reads FILE and parses it with parseSyncFile; SYNC_FILE_INVALID also when it cannot be read. */
export async function loadSyncFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<SyncRegistry[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason = systemError(error, path, 'the sync file')?.message
    throw new ZregError('SYNC_FILE_INVALID', reason ?? `cannot read the sync file ${path}: ${(error as Error).message}`, { cause: error })
  }
  return parseSyncFile(text, path, env)
}
