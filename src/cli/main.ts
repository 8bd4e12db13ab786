import { flush, handle, run } from '@oclif/core'
import { isOclifExit, jsonRequested, reportError, toCliError } from './cli-error.js'

/**
 * Runs the CLI as oclif's `execute` does, but reports the errors raised before a command runs (an
 * unknown command, a broken install) like a command's own: one JSON line under --json, else a message
 * and a hint; usage errors exit 2.
 */
export async function main(dir: string, argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    await run(argv, dir)
    await flush()
  } catch (thrown) {
    if (isOclifExit(thrown)) {
      await handle(thrown as Error)
      return
    }
    reportError(toCliError(thrown, argv), { json: jsonRequested(argv) })
  }
}
