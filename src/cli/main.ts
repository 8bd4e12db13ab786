import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config } from '@oclif/core/config'
import type { PJSON } from '@oclif/core/interfaces'
import { flush } from '@oclif/core/flush'
import { handle } from '@oclif/core/handle'
import { run } from '@oclif/core/run'
import { ZregError } from '../errors.js'
import { isOclifExit, jsonRequested, reportError, toCliError } from './cli-error.js'

/** What oclif answers before any command; any other flag there stands where the command belongs. */
const flagsBeforeCommand = new Set(['--help', '-h', '--version'])

/**
 * What oclif loads its configuration from. For one of zreg's own commands, the package without its
 * plugins (help, not-found, autocomplete): they add no hook a zreg command runs, and finding and
 * loading them took 20-30 ms of every command's start. Anything else (`help`, `autocomplete`, a miss
 * that plugin-not-found answers) loads them all.
 */
function loadOptions(dir: string, first: string | undefined): string | { root: string; pjson: PJSON } {
  if (first === undefined || !/^[a-z][a-z-]*$/.test(first)) return dir
  // bin/run.js passes its own URL: the package is the directory above bin/.
  const root = dirname(dirname(dir.startsWith('file:') ? fileURLToPath(dir) : dir))
  try {
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PJSON
    if (typeof pjson.oclif?.commands !== 'string' || !existsSync(join(root, pjson.oclif.commands, `${first}.js`))) return dir
    return { root, pjson: { ...pjson, oclif: { ...pjson.oclif, plugins: [] } } }
  } catch {
    return dir
  }
}

/** The command `word` was probably meant to be (plugin-not-found's measure), for scripts too. */
async function closestCommand(dir: string, word: string): Promise<string | undefined> {
  const config = await Config.load(dir)
  // Loaded here, on a miss only: it sets up a collator when loaded (10 ms of every command's start).
  const { default: levenshtein } = await import('fast-levenshtein')
  const ids = config.commands.filter((command) => !command.hidden).map((command) => command.id)
  return ids.map((id) => ({ id, distance: levenshtein.get(word, id) })).sort((a, b) => a.distance - b.distance)[0]?.id
}

/**
 * Runs the CLI as oclif's `execute` does, but reports the errors raised before a command runs (an
 * unknown command, a flag before the command, a broken install) like a command's own: one JSON line
 * under --json, else a message and a hint; usage errors exit 2.
 */
export async function main(dir: string, argv: string[] = process.argv.slice(2)): Promise<void> {
  const json = jsonRequested(argv)
  const first = argv[0]
  if (first !== undefined && first.startsWith('-') && !flagsBeforeCommand.has(first)) {
    const message = `"${first}" stands where the command belongs: write the command first, then its arguments and flags (zreg COMMAND ... ${first} ...)`
    reportError(new ZregError('USAGE', message), { json })
    return
  }
  try {
    await run(argv, loadOptions(dir, first))
    await flush()
  } catch (thrown) {
    if (isOclifExit(thrown)) {
      await handle(thrown as Error)
      return
    }
    const error = toCliError(thrown, argv)
    // plugin-not-found asks "did you mean" only at a terminal; say it in scripts too.
    if (first !== undefined && (thrown as { oclif?: { exit?: number } }).oclif?.exit === 127) {
      const suggestion = await closestCommand(dir, first).catch(() => undefined)
      if (suggestion !== undefined) {
        reportError(new ZregError('USAGE', `${error.message}; did you mean \`zreg ${suggestion}\`?`, { cause: thrown }), { json })
        return
      }
    }
    reportError(error, { json })
  }
}
