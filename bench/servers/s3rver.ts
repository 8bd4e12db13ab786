import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { repoRoot } from '../paths.js'
import { freshDir } from '../support/disk.js'
import { Server } from '../support/server.js'

/** s3rver's fixed credentials, as the test suite uses them. */
export const s3Credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }

/** The environment for an S3 client of s3rver: its credentials, no AWS_* of the machine (a CA bundle, a profile). */
export function s3Env(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('RCLONE_')))
  return { ...env, ...s3Credentials, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
}

/** s3rver (the test suite's S3 server) as a child process on a free port it reports, its data in `dir`, with `buckets`. */
export async function startS3rver(dir: string, buckets: string[]): Promise<Server> {
  freshDir(dir)
  const script = `const S3rver = require(${JSON.stringify(join(repoRoot, 'node_modules', 's3rver'))});
new S3rver({ port: 0, address: '127.0.0.1', directory: process.argv[1], silent: true, configureBuckets: ${JSON.stringify(buckets.map((name) => ({ name })))} })
  .run().then((address) => console.log('PORT ' + address.port))`
  const server = new Server('s3rver', spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] }))
  const deadline = performance.now() + 20000
  let reported: RegExpExecArray | null
  while ((reported = /PORT (\d+)/.exec(server.output)) === null) {
    if (server.hasExited || performance.now() > deadline) throw new Error(`s3rver did not start:\n${server.output}`)
    await sleep(50)
  }
  server.port = Number(reported[1])
  return server
}
