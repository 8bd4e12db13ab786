import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root directory: the benchmark runs compiled, from dist/bench/. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** Everything the benchmark generates and keeps between runs (git-ignored). */
export const dataDir = join(repoRoot, 'bench', '.data')

/** The CLI as an installed zreg runs it (its shebang), so it gets the V8 flags bin/run.js gives each command. */
export const zregBin = join(repoRoot, 'bin', 'run.js')

/** The compiled library, as a separate process imports it. */
export const libraryEntry = join(repoRoot, 'dist', 'src', 'index.js')
