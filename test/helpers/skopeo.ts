import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'

/**
 * Pulls with the real client into a `dir:` destination, which keeps manifest bytes exactly (an `oci:`
 * destination converts Docker schema2 to OCI), and returns the digest of the manifest it received.
 */
export async function skopeoPull(from: string, dir: string, options: { all?: boolean; tlsArgs?: string[]; env?: Record<string, string> } = {}): Promise<string> {
  const tls = options.tlsArgs ?? ['--src-tls-verify=false']
  await execa('skopeo', ['copy', '--retry-times', '0', ...tls, ...(options.all ? ['--all'] : []), from, `dir:${dir}`], options.env === undefined ? {} : { env: options.env, extendEnv: false })
  return `sha256:${createHash('sha256').update(await readFile(join(dir, 'manifest.json'))).digest('hex')}`
}

export async function skopeoJson(args: string[]): Promise<unknown> {
  const result = await execa('skopeo', args)
  return JSON.parse(result.stdout)
}
