import { Config, flush, handle, run } from '@oclif/core'
import { ZregError } from '../errors.js'
import { isOclifExit, jsonRequested, reportError, toCliError } from './cli-error.js'

/** What oclif answers before any command; any other flag there stands where the command belongs. */
const flagsBeforeCommand = new Set(['--help', '-h', '--version'])

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
    await run(argv, dir)
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
