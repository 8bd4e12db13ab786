import { stripVTControlCharacters } from 'node:util'
import { asZregError, systemError, ZregError } from '../errors.js'

/** oclif's errors carry `oclif.exit`; `this.exit(n)` throws one with code EEXIT that must stay an exit. */
interface OclifError extends Error {
  oclif: { exit?: number }
  code?: string
}

function isOclifError(thrown: unknown): thrown is OclifError {
  return thrown instanceof Error && typeof (thrown as { oclif?: unknown }).oclif === 'object' && !(thrown instanceof ZregError)
}

/** True for oclif's exit request (`this.exit(n)`), which is no error to report. */
export function isOclifExit(thrown: unknown): boolean {
  return isOclifError(thrown) && thrown.code === 'EEXIT'
}

/**
 * oclif's parse messages as one line: without colours and without its "See more help with --help"
 * (our hint says that), "Parsing --port\n\tExpected ..." as "Parsing --port: Expected ...".
 */
function oneLine(message: string): string {
  const lines = stripVTControlCharacters(message)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^See more help with/.test(line))
  return lines.reduce((text, line) => (text === '' ? line : `${text}${text.endsWith(':') ? ' ' : ': '}${line}`), '')
}

/**
 * Any thrown value as the table entry a user can act on: ZregErrors as they are, oclif's usage errors
 * (unknown flag or command, missing argument, bad option value) as USAGE, system errors (EACCES, ENOSPC,
 * EADDRINUSE, ENOTFOUND, ...) by `systemError`, anything else INTERNAL.
 */
export function toCliError(thrown: unknown, argv: readonly string[] = []): ZregError {
  if (isOclifError(thrown)) {
    // plugin-not-found ends with exit 127 after its warning; say which word was not a command.
    // main() refuses a flag before the command, so the first word is the one oclif took for a command.
    const word = argv[0]
    const message = thrown.oclif.exit === 127 && word !== undefined ? `"${word}" is not a zreg command` : oneLine(thrown.message)
    return new ZregError('USAGE', message, { cause: thrown })
  }
  if (thrown instanceof ZregError) return thrown
  return systemError(thrown) ?? asZregError(thrown)
}

/** True when `--json` comes before any `--` (oclif's own rule), also for errors before a command runs. */
export function jsonRequested(argv: readonly string[]): boolean {
  const json = argv.indexOf('--json')
  const end = argv.indexOf('--')
  return json !== -1 && (end === -1 || json < end)
}

/**
 * Reports an error and sets the exit code: with --json one line `{"error":{code,ociCode,message,hint}}`
 * on stdout (so `serve --json` stays JSON lines), otherwise "zreg: message" and the hint on stderr;
 * the stack only for INTERNAL, which is a bug.
 */
export function reportError(error: ZregError, options: { json: boolean }): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ error: { code: error.code, ociCode: error.ociCode, message: error.message, hint: error.hint } })}\n`)
  } else {
    process.stderr.write(`zreg: ${error.message}\n  ${error.hint}\n`)
    const cause = error.cause
    if (error.code === 'INTERNAL' && cause instanceof Error && cause.stack) process.stderr.write(`${cause.stack}\n`)
  }
  process.exitCode = error.exitCode
}
