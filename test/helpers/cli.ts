import { execa, type Result } from 'execa'
import { cliPath } from './paths.js'

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the real CLI as a user would; never throws on a non-zero exit. */
export async function zreg(args: string[], options: { cwd?: string; env?: Record<string, string>; extendEnv?: boolean } = {}): Promise<CliResult> {
  const result: Result = await execa(cliPath, args, {
    reject: false,
    cwd: options.cwd,
    env: { ...options.env, FORCE_COLOR: '0' },
    // false: `env` is the whole environment (a test that must not inherit AWS_* from the machine).
    extendEnv: options.extendEnv ?? true,
    stdin: 'ignore',
  })
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
}

/** Runs the CLI and fails with its output when it does not exit 0. */
export async function zregOk(args: string[], options: { cwd?: string; env?: Record<string, string>; extendEnv?: boolean } = {}): Promise<CliResult> {
  const result = await zreg(args, options)
  if (result.exitCode !== 0) {
    throw new Error(`zreg ${args.join(' ')} exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`)
  }
  return result
}
