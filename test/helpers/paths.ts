import { mkdir, mkdtemp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Tests run compiled, from dist/test/helpers/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const fixturesDir = join(repoRoot, 'fixtures', 'build')
export const cliPath = join(repoRoot, 'bin', 'run.js')
export const workDir = join(repoRoot, 'test', '.work')

export interface FixtureImage {
  id: string
  name: string
  source: string
  mediaType: string | null
  digest: string | null
  size: number | null
  platform?: string | null
  platforms?: string[]
  configDigest?: string
  subject?: string
  artifactType?: string
  blobs: string[] | null
}

export interface Fixtures {
  images: FixtureImage[]
  bad: Record<string, string>
  badSources: Record<string, string>
}

export async function loadFixtures(): Promise<Fixtures> {
  return JSON.parse(await readFile(join(fixturesDir, 'fixtures.json'), 'utf8')) as Fixtures
}

/** A fixture's SOURCE with its path made absolute. */
export function absoluteSource(source: string): string {
  const colon = source.indexOf(':')
  return `${source.slice(0, colon + 1)}${join(fixturesDir, source.slice(colon + 1))}`
}

/** A fresh directory under test/.work, which every test run clears first (nothing piles up in /tmp). */
export async function tempDir(prefix: string): Promise<string> {
  await mkdir(workDir, { recursive: true })
  return mkdtemp(join(workDir, `${prefix}-`))
}
