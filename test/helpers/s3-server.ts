import { createRequire } from 'node:module'
import { join } from 'node:path'
import { execa } from 'execa'
import { tempDir } from './paths.js'

/** The part of s3rver's API the tests use (it ships no types). */
interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
  httpServer: import('node:http').Server
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

/** s3rver's one account: any other access key id is refused (it does not check v4 signatures). */
export const s3Credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

export interface TestS3Server {
  endpoint: string
  /** Where s3rver keeps the objects (KEY._S3rver_object files). */
  directory: string
  /** Every request the server received, as `METHOD URL`, in order (clear it to count from a point). */
  requests: string[]
  /** The environment for a client of this server: its credentials and nothing else of AWS_* (no CA bundle for plain http). */
  env(extra?: Record<string, string>): Record<string, string>
  /** `rclone ARGS` against this server as the remote `s3:`, configured by environment only. */
  rclone(args: string[]): Promise<string>
  stop(): Promise<void>
}

/** The process environment without AWS_* and RCLONE_* (the machine may set AWS_CA_BUNDLE and similar). */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('AWS_') && !name.startsWith('RCLONE_')) env[name] = value
  return env
}

/** Website hosting with index.html as the index document: GET /v2/ answers v2/index.html, as a bucket behind a CDN would. */
const websiteConfig = '<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>'

/**
 * A real S3 HTTP server (s3rver) on a free loopback port, its data in a temp dir, with `buckets` made;
 * those in `website` also serve as websites at http://BUCKET.s3-website.amazonaws.com/ to a client that
 * uses the server as its HTTP proxy (s3rver tells website requests by their Host).
 */
export async function startS3Server(buckets: string[] = ['bucket'], options: { website?: string[] } = {}): Promise<TestS3Server> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass
  const directory = join(await tempDir('s3rver'), 'data')
  const configureBuckets = buckets.map((name) => ({ name, ...(options.website?.includes(name) ? { configs: [websiteConfig] } : {}) }))
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true, configureBuckets })
  const { port } = await server.run()
  const requests: string[] = []
  server.httpServer.prependListener('request', (req: import('node:http').IncomingMessage) => requests.push(`${req.method} ${req.url}`))
  const endpoint = `http://127.0.0.1:${port}`
  const env = (extra: Record<string, string> = {}) => ({ ...cleanEnv(), ...s3Credentials, AWS_REGION: 'us-east-1', ...extra })
  return {
    endpoint,
    directory,
    requests,
    env,
    rclone: async (args) => {
      const config = {
        RCLONE_CONFIG_S3_TYPE: 's3',
        RCLONE_CONFIG_S3_PROVIDER: 'Other',
        RCLONE_CONFIG_S3_ENDPOINT: endpoint,
        RCLONE_CONFIG_S3_ACCESS_KEY_ID: s3Credentials.AWS_ACCESS_KEY_ID,
        RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: s3Credentials.AWS_SECRET_ACCESS_KEY,
        RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
        RCLONE_CONFIG_S3_REGION: 'us-east-1',
      }
      const result = await execa('rclone', ['--config', '/dev/null', ...args], { env: { ...cleanEnv(), ...config }, extendEnv: false })
      return result.stdout
    },
    stop: () => server.close(),
  }
}

/** What rclone lists of one object: its path under the listed prefix, size, md5 and metadata. */
export interface RcloneObject {
  Path: string
  Size: number
  Hashes?: { md5?: string }
  Metadata?: Record<string, string>
}

/** Every object under s3:BUCKET/PREFIX as rclone sees it, by path. */
export async function rcloneObjects(server: TestS3Server, remote: string): Promise<Map<string, RcloneObject>> {
  const listed = JSON.parse(await server.rclone(['lsjson', '-R', '--files-only', '--metadata', '--hash', remote])) as RcloneObject[]
  return new Map(listed.map((object) => [object.Path, object]))
}
