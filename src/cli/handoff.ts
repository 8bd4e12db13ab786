import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ZregError } from '../errors.js'
import type { PushModeSettings } from './push-mode.js'
import type { ServeTreeSettings } from './serve-tree.js'

/**
 * How `zreg serve` and `zreg push` hand their server to a program that loads neither oclif nor the rest
 * of the CLI (server-main.ts), so a server that runs for months holds only what serving needs.
 * bin/run.js names an empty file in this variable; the command, once its flags and config file are
 * read, writes there what it resolved and ends; bin/run.js then replaces itself (exec: the same process
 * id, for whatever supervises it) with the program the file names, which serves. Without the variable
 * (`node bin/run.js serve`) the command serves itself, from the same settings.
 */
export const handoffVariable = 'ZREG_HANDOFF'

/** The file the variable names, when a command is to hand its server over. */
export function handoffFile(): string | undefined {
  const file = process.env[handoffVariable]
  return file === undefined || file === '' ? undefined : file
}

/** What a command hands over: which server, and its settings. */
export type Handoff = { kind: 'serve'; settings: ServeTreeSettings } | { kind: 'push'; settings: PushModeSettings }

/**
 * Writes a handoff: line 1 the program (server-main.js), line 2 node's flags for it, both all that
 * bin/run.js reads; line 3 the handoff, as JSON.
 */
export function writeHandoff(file: string, handoff: Handoff, nodeFlags: readonly string[]): void {
  writeFileSync(file, `${fileURLToPath(import.meta.resolve('#server-main'))}\n${nodeFlags.join(' ')}\n${JSON.stringify(handoff)}\n`)
}

/** A handoff, its file removed; INTERNAL when it is not one writeHandoff wrote. */
export function readHandoff(file: string): Handoff {
  try {
    const lines = readFileSync(file, 'utf8').split('\n')
    return JSON.parse(lines[2] ?? '') as Handoff
  } catch (error) {
    throw new ZregError('INTERNAL', `${file} is no handoff of zreg: ${(error as Error).message}`, { cause: error })
  } finally {
    rmSync(file, { force: true })
  }
}
