import { statSync } from 'node:fs'
import { run } from './children.js'

export interface CurlAnswer {
  status: number
  /** The Location header resolved against the server (distribution's is absolute), if any. */
  location: string | undefined
  ms: number
  /** curl's own exit code (0 unless the transfer failed). */
  curlCode: number | null
  stderr: string
}

/**
 * One curl request; returns the status and the Location header, resolved against `base`. `bodyFile` is
 * streamed as the body with its Content-Length: `--data-binary @file` would first read the whole file
 * into curl's memory, a client cost that would blur a server-bound figure. `headers`: curl arguments
 * (`-H`, `Name: value`).
 */
export async function curlRequest(base: string, method: string, url: string, options: { bodyFile?: string; headers?: string[] } = {}): Promise<CurlAnswer> {
  const { bodyFile, headers = [] } = options
  const body = bodyFile
    ? ['-T', '-', '-H', 'Transfer-Encoding:', '-H', 'Expect:', '-H', `Content-Length: ${statSync(bodyFile).size}`, '-H', 'Content-Type: application/octet-stream']
    : ['-H', 'Content-Length: 0']
  const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %header{location}', '-X', method, ...body, ...headers, url], {
    allowFail: true,
    timeoutMs: 600000,
    ...(bodyFile === undefined ? {} : { stdinFile: bodyFile }),
  })
  const [status, location] = r.stdout.trim().split(' ')
  return { status: Number(status), location: location ? new URL(location, base).href : undefined, ms: r.ms, curlCode: r.code, stderr: r.stderr.trim() }
}
