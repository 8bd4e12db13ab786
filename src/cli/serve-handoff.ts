import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ZregError } from '../errors.js'
import { serveOptionsOf, serveSettings, type ServeSettings } from '../server/serve-settings.js'
import type { ServeTreeOptions } from './serve-tree.js'

/**
 * How `zreg serve` hands its server to a program that loads neither oclif nor the rest of the CLI
 * (serve-main.ts), so a server that runs for months holds only what serving needs. bin/run.js names
 * an empty file in this variable; the command, once its flags and config file are read, writes there
 * what it resolved and ends; bin/run.js then replaces itself (exec: the same process id, for whatever
 * supervises it) with the program the file's first line names, which serves. Without the variable
 * (`node bin/run.js serve`, a test calling the command) the command serves itself.
 */
export const serveHandoffVariable = 'ZREG_SERVE_HANDOFF'

interface HandoffFile {
  workers: number
  json: boolean
  serve: ServeSettings
}

/** Writes the handoff: line 1 the program (all bin/run.js reads), line 2 the settings as JSON. */
export function writeServeHandoff(file: string, options: ServeTreeOptions): void {
  const handoff: HandoffFile = { workers: options.workers, json: options.json, serve: serveSettings(options.serve) }
  writeFileSync(file, `${fileURLToPath(import.meta.resolve('#serve-main'))}\n${JSON.stringify(handoff)}\n`)
}

/** Reads the handoff and removes its file; INTERNAL when it is not one writeServeHandoff wrote. */
export function readServeHandoff(file: string): ServeTreeOptions {
  try {
    const text = readFileSync(file, 'utf8')
    const handoff = JSON.parse(text.slice(text.indexOf('\n') + 1)) as HandoffFile
    return { workers: handoff.workers, json: handoff.json, serve: serveOptionsOf(handoff.serve) }
  } catch (error) {
    throw new ZregError('INTERNAL', `${file} is no handoff of \`zreg serve\`: ${(error as Error).message}`, { cause: error })
  } finally {
    rmSync(file, { force: true })
  }
}
