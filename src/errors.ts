/**
 * The one error table. Each entry gives zreg's code, the OCI distribution error code a server answers
 * with, the HTTP status, the CLI exit code, and a hint that says what to do next.
 * Exit codes: 1 internal, 2 usage, 3 not found, 4 invalid input, 5 conflict or busy.
 */
export const errorTable = {
  USAGE: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'See --help for the accepted arguments.' },
  DIGEST_INVALID: { oci: 'DIGEST_INVALID', status: 400, exit: 4, hint: 'The content does not match its digest: it is corrupt or was changed; fetch or export it again.' },
  SIZE_INVALID: { oci: 'SIZE_INVALID', status: 400, exit: 4, hint: 'The content length does not match its descriptor: the source is truncated or its manifest is wrong.' },
  BLOB_UNKNOWN: { oci: 'BLOB_UNKNOWN', status: 404, exit: 3, hint: 'The blob is not in the store; add the image that references it.' },
  MANIFEST_UNKNOWN: { oci: 'MANIFEST_UNKNOWN', status: 404, exit: 3, hint: 'Run `zreg ls` to see the repositories and tags in the store.' },
  MANIFEST_INVALID: { oci: 'MANIFEST_INVALID', status: 400, exit: 4, hint: 'The manifest does not satisfy the OCI image-spec / Docker schema2; rebuild or re-export the image.' },
  MANIFEST_TOO_LARGE: { oci: 'MANIFEST_INVALID', status: 413, exit: 4, hint: 'Manifests, indexes and configs are limited to 4 MiB, as in the reference registry and its clients; split the image index.' },
  MANIFEST_BLOB_UNKNOWN: { oci: 'MANIFEST_BLOB_UNKNOWN', status: 400, exit: 4, hint: 'A blob the manifest references is missing from the source; re-export the image with all its layers.' },
  CONFIG_INVALID: { oci: 'MANIFEST_INVALID', status: 400, exit: 4, hint: 'The image config does not satisfy the OCI image-spec config schema.' },
  NAME_INVALID: { oci: 'NAME_INVALID', status: 400, exit: 4, hint: 'Repository names are lowercase path components ([a-z0-9] separated by ".", "_", "__" or "-"), joined by "/".' },
  NAME_COLLISION: { oci: 'NAME_INVALID', status: 400, exit: 4, hint: 'In the static tree /v2/<repo>/tags/list and /v2/<repo>/manifests/<tag> are files; pick a repository name or tag that needs no directory there.' },
  NAME_UNKNOWN: { oci: 'NAME_UNKNOWN', status: 404, exit: 3, hint: 'Run `zreg ls` to see the repositories in the store.' },
  TAG_INVALID: { oci: 'TAG_INVALID', status: 400, exit: 4, hint: 'Tags match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.' },
  UNSUPPORTED: { oci: 'UNSUPPORTED', status: 405, exit: 2, hint: 'This server is read-only: it answers GET and HEAD.' },
  BLOB_UPLOAD_UNKNOWN: { oci: 'BLOB_UPLOAD_UNKNOWN', status: 404, exit: 3, hint: 'The upload session does not exist (finished, cancelled or expired); start a new upload.' },
  BLOB_UPLOAD_INVALID: { oci: 'BLOB_UPLOAD_INVALID', status: 400, exit: 4, hint: 'The upload request is malformed; see the distribution-spec for the upload protocol.' },
  UNAUTHORIZED: { oci: 'UNAUTHORIZED', status: 401, exit: 5, hint: 'Log in (docker login, podman login, skopeo --creds) with a user of the htpasswd file that may do this.' },
  TOO_MANY_UPLOADS: { oci: 'TOOMANYREQUESTS', status: 503, exit: 5, hint: 'The registry is at its limit of uploads running at once; retry after the Retry-After delay.' },
  RANGE_INVALID: { oci: 'BLOB_UPLOAD_INVALID', status: 416, exit: 4, hint: 'The chunk does not start where the upload stands; GET the upload for its Range and resume from there.' },
  BODY_SIZE_INVALID: { oci: 'SIZE_INVALID', status: 400, exit: 4, hint: 'The body does not have the length its Content-Length or Content-Range announce, so nothing was committed; send it again with headers that describe it.' },
  REQUEST_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 4, hint: 'The request is not valid HTTP/1.1 (bytes after the body its Content-Length announced, a malformed header); fix the client or the proxy in between.' },
  SOURCE_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'SOURCE is oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:REF|@N].' },
  SOURCE_NOT_FOUND: { oci: 'NAME_UNKNOWN', status: 404, exit: 3, hint: 'Check the path; for a reference, use one of the names the message lists.' },
  SOURCE_AMBIGUOUS: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'Name one image with SOURCE:REF, or drop --name to add every image under its own name.' },
  ARCHIVE_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 4, hint: 'The archive is truncated, damaged or not an image archive; export it again.' },
  UNSAFE_PATH: { oci: 'NAME_INVALID', status: 400, exit: 4, hint: 'The input names a path outside its directory (a tar-slip or link); zreg refuses it. Do not trust this archive.' },
  PLATFORM_UNKNOWN: { oci: 'MANIFEST_UNKNOWN', status: 404, exit: 3, hint: 'Pick one of the platforms the message lists, or drop --platform to keep every platform.' },
  FORMAT_UNSUPPORTED: { oci: 'UNSUPPORTED', status: 400, exit: 4, hint: 'Docker schema2 has no zstd layers; add the image with --format oci to keep them.' },
  STORE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 4, hint: 'The store directory is not an OCI image layout written by zreg; point --store at another directory.' },
  LOCK_TIMEOUT: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'Another zreg process holds the store lock; retry, or remove a stale index.json.lock if no zreg runs.' },
  BUILD_CONFLICT: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'The rest of the tree is built and live. Delete the left-out repository (or the tag in its way) from the store, or copy it under another name, then build again.' },
  OUT_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'The output path exists and was not made by `zreg build`; choose another --out or remove it.' },
  SITE_NOT_FOUND: { oci: 'UNSUPPORTED', status: 500, exit: 3, hint: 'Run `zreg build` first, or pass the directory it wrote.' },
  CONFIG_FILE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: 'Fix the configuration file; its schema is schemas/zreg-config.json.' },
  INTERNAL: { oci: 'UNKNOWN', status: 500, exit: 1, hint: 'This is a bug in zreg; please report it with the command you ran.' },
} as const satisfies Record<string, { oci: string; status: number; exit: number; hint: string }>

export type ErrorCode = keyof typeof errorTable

export class ZregError extends Error {
  readonly code: ErrorCode
  /** Machine-readable context for the OCI error body's `detail`. */
  readonly detail: unknown

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; detail?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ZregError'
    this.code = code
    this.detail = options.detail
  }

  get status(): number {
    return errorTable[this.code].status
  }

  get exitCode(): number {
    return errorTable[this.code].exit
  }

  get ociCode(): string {
    return errorTable[this.code].oci
  }

  get hint(): string {
    return errorTable[this.code].hint
  }
}

/** Any thrown value as a ZregError; unknown failures become INTERNAL so callers map one type. */
export function asZregError(error: unknown): ZregError {
  if (error instanceof ZregError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new ZregError('INTERNAL', message, { cause: error })
}
