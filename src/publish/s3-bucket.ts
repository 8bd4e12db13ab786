import { createReadStream } from 'node:fs'
import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { ZregError } from '../errors.js'

/** Where `zreg publish s3://BUCKET/PREFIX` writes, and how it reaches the bucket. */
export interface S3Location {
  bucket: string
  /** Object keys start with it: '' or 'path/' (always ending in a slash). */
  prefix: string
}

export interface S3ConnectionOptions {
  /** An S3-compatible server (`http://127.0.0.1:9000`); default: AWS for the region. */
  endpoint?: string
  region?: string
  /** Bucket in the path (`ENDPOINT/BUCKET/KEY`) instead of the host name, as most S3-compatible servers need. */
  pathStyle?: boolean
}

/** The metadata every object carries. */
export interface ObjectMetadata {
  contentType: string
  cacheControl: string
  /** x-amz-website-redirect-location: a bucket's website endpoint answers the object with a 301 there. */
  websiteRedirectLocation?: string
}

/** Objects above this many bytes go up in parts (lib-storage), streamed from disk part by part. */
const multipartThreshold = 64 * 1024 * 1024
const partSize = 8 * 1024 * 1024
/** The largest object CopyObject copies in one request; bigger ones are uploaded again. */
export const maxCopySize = 5 * 1024 * 1024 * 1024

/** `s3://BUCKET[/PREFIX]` as a location; undefined when `target` is not of that form. */
export function parseS3Target(target: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(target)
  if (!match) return undefined
  const rest = (match[2] ?? '').replace(/^\/+|\/+$/g, '')
  return { bucket: match[1]!, prefix: rest === '' ? '' : `${rest}/` }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
}

/** The system error code of a failed connection (Node wraps several attempts in an AggregateError). */
function connectionCode(error: unknown): string | undefined {
  const found = error as { code?: string; errors?: { code?: string }[]; cause?: unknown }
  return found.code ?? found.errors?.[0]?.code ?? (found.cause === undefined ? undefined : connectionCode(found.cause))
}

/**
 * An S3 SDK failure as the error table's entry: credentials missing or refused (S3_ACCESS_DENIED), no
 * such bucket (BUCKET_NOT_FOUND), endpoint down or unknown (CONNECTION_FAILED, HOST_UNKNOWN); anything
 * else PUBLISH_FAILED with the server's own words.
 */
export function s3Error(error: unknown, where: string, what: string): ZregError {
  if (error instanceof ZregError) return error
  const name = (error as Error).name ?? ''
  const message = (error as Error).message ?? String(error)
  const status = statusOf(error)
  const options = { cause: error }
  if (name === 'CredentialsProviderError') return new ZregError('S3_ACCESS_DENIED', `no credentials for ${where}: ${message}`, options)
  if (name === 'NoSuchBucket' || (status === 404 && what === 'find the bucket')) return new ZregError('BUCKET_NOT_FOUND', `the bucket of ${where} does not exist`, options)
  if (status === 403 || ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'].includes(name)) {
    return new ZregError('S3_ACCESS_DENIED', `${where} refused the credentials to ${what}: ${['Forbidden', '403', 'Unknown', 'AccessDenied'].includes(name) ? 'access denied (HTTP 403)' : `${name}: ${message}`}`, options)
  }
  const code = connectionCode(error)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ZregError('HOST_UNKNOWN', `cannot resolve the host of ${where}`, options)
  if (code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code)) {
    return new ZregError('CONNECTION_FAILED', `cannot connect to ${where} (${code}): check --endpoint and that the server runs`, options)
  }
  return new ZregError('PUBLISH_FAILED', `cannot ${what} in ${where}: ${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${message}`, options)
}

/**
 * A key as CopySource wants it: URL-encoded, but `:` (every digest has one) and `/` kept as they are,
 * since some S3-compatible servers (s3rver) decode the header with decodeURI, which leaves `%3A` alone.
 */
function encodeKey(key: string): string {
  return encodeURI(key)
}

/**
 * One bucket (and prefix) reached with the AWS SDK's default credential chain (environment,
 * `~/.aws/credentials`, `~/.aws/config`, AWS_PROFILE). Keys given to its methods are relative to the prefix.
 * Every method throws what s3Error makes.
 */
export class S3Bucket {
  readonly client: S3Client
  readonly where: string

  constructor(
    readonly location: S3Location,
    readonly connection: S3ConnectionOptions,
  ) {
    // zreg supports the Node versions package.json names; the SDK's notice of its own future plans is no news to act on.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    this.client = new S3Client({
      ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
      region: connection.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: connection.pathStyle ?? false,
      // Plain checksummed bodies, not aws-chunked trailers: S3-compatible servers differ in the latter.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
    this.where = `s3://${location.bucket}/${location.prefix}${connection.endpoint ? ` at ${connection.endpoint}` : ''}`
  }

  private key(key: string): string {
    return `${this.location.prefix}${key}`
  }

  private async send<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw s3Error(error, this.where, what)
    }
  }

  /** Checks that the bucket exists and the credentials may use it, before anything is written. */
  async check(): Promise<void> {
    await this.send('find the bucket', () => this.client.send(new HeadBucketCommand({ Bucket: this.location.bucket })))
  }

  /** The text of object `key`, or undefined when there is none. */
  async readText(key: string): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(key) }))
      return await answer.Body?.transformToString('utf8')
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey' || statusOf(error) === 404) return undefined
      throw s3Error(error, this.where, `read ${key}`)
    }
  }

  async writeText(key: string, text: string, metadata: ObjectMetadata): Promise<void> {
    await this.send(`write ${key}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key: this.key(key), Body: text, ContentType: metadata.contentType, CacheControl: metadata.cacheControl, ...(metadata.websiteRedirectLocation === undefined ? {} : { WebsiteRedirectLocation: metadata.websiteRedirectLocation }) })),
    )
  }

  /** Uploads `file` (`size` bytes) streamed from disk; in parts above the multipart threshold. */
  async upload(key: string, file: string, size: number, metadata: ObjectMetadata, onBytes?: (bytes: number) => void): Promise<void> {
    const params = { Bucket: this.location.bucket, Key: this.key(key), ContentType: metadata.contentType, CacheControl: metadata.cacheControl }
    await this.send(`upload ${key}`, async () => {
      if (size < multipartThreshold) {
        await this.client.send(new PutObjectCommand({ ...params, Body: size === 0 ? '' : createReadStream(file), ContentLength: size }))
        onBytes?.(size)
        return
      }
      const upload = new Upload({ client: this.client, params: { ...params, Body: createReadStream(file) }, partSize, queueSize: 2, leavePartsOnError: false })
      let sent = 0
      upload.on('httpUploadProgress', (progress) => {
        const loaded = progress.loaded ?? 0
        onBytes?.(loaded - sent)
        sent = loaded
      })
      await upload.done()
      onBytes?.(size - sent)
    })
  }

  /** Copies object `from` to `to` inside the bucket (server-side, no bytes through this machine), with `metadata`. */
  async copy(from: string, to: string, metadata: ObjectMetadata): Promise<void> {
    await this.send(`copy ${from} to ${to}`, () =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(to),
          CopySource: `${this.location.bucket}/${encodeKey(this.key(from))}`,
          MetadataDirective: 'REPLACE',
          ContentType: metadata.contentType,
          CacheControl: metadata.cacheControl,
        }),
      ),
    )
  }

  /** Every object under the prefix: key (relative) -> size in bytes. */
  async list(): Promise<Map<string, number>> {
    const found = new Map<string, number>()
    let token: string | undefined
    do {
      const page = await this.send('list the objects', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.location.prefix || undefined, ContinuationToken: token })),
      )
      for (const object of page.Contents ?? []) if (object.Key !== undefined) found.set(object.Key.slice(this.location.prefix.length), object.Size ?? 0)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return found
  }

  /** Deletes `keys`, 1,000 per request (the S3 limit); a key already gone is no error. */
  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000)
      const answer = await this.send('delete objects', () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects: batch.map((key) => ({ Key: this.key(key) })), Quiet: true } })),
      )
      const failed = answer.Errors?.[0]
      if (failed) throw new ZregError('PUBLISH_FAILED', `cannot delete ${failed.Key} in ${this.where}: ${failed.Code}: ${failed.Message}`)
    }
  }

  destroy(): void {
    this.client.destroy()
  }
}
