/**
 * The one error table. Each entry gives zreg's code, the OCI distribution error code a server answers
 * with, the HTTP status, the CLI exit code, and a hint that says what to do next.
 * Exit codes: 1 internal, 2 usage, 3 not found, 4 invalid input, 5 conflict or busy.
 */
export const errorTable = {
  USAGE: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'Run `zreg help` for the commands, or `zreg COMMAND --help` for the arguments and flags one takes.' },
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
  SOURCE_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'SOURCE is oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF|@N] or docker://HOST[:PORT]/REPO[:TAG|@DIGEST].' },
  SOURCE_NOT_FOUND: { oci: 'NAME_UNKNOWN', status: 404, exit: 3, hint: 'Check the path, and the reference after it: where the source has other names, the message lists them.' },
  SOURCE_AMBIGUOUS: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'Name one image with SOURCE:REF, or drop --name to add every image under its own name.' },
  ARCHIVE_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 4, hint: 'The archive is truncated, damaged or not an image archive; export it again.' },
  UNSAFE_PATH: { oci: 'NAME_INVALID', status: 400, exit: 4, hint: 'An entry or link of the input leads outside it (a tar-slip), or its links go round in a loop; zreg refuses it. Do not trust this archive.' },
  PLATFORM_UNKNOWN: { oci: 'MANIFEST_UNKNOWN', status: 404, exit: 3, hint: 'Pick one of the platforms the message lists, or drop --platform to keep every platform.' },
  FORMAT_UNSUPPORTED: { oci: 'UNSUPPORTED', status: 400, exit: 4, hint: 'Docker schema2 has no media type for zstd layers; an OCI manifest has one, and keeps the layer bytes as they are.' },
  STORE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 4, hint: 'The store directory is not an OCI image layout written by zreg; point --store at another directory.' },
  LOCK_TIMEOUT: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'Another zreg process holds the store lock; retry, or remove a stale index.json.lock if no zreg runs.' },
  BUILD_CONFLICT: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'The rest of the tree is built and live. Delete the left-out repository (or the tag in its way) from the store, or copy it under another name, then build again.' },
  OUT_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'The output path exists and was not made by `zreg build`; choose another --out or remove it.' },
  OUTPUT_EXISTS: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'A file to write is there already with other contents (settings of its own): merge the new one into it by hand, or remove it and run again.' },
  SITE_NOT_FOUND: { oci: 'UNSUPPORTED', status: 500, exit: 3, hint: 'Run `zreg build` first, or pass the directory it wrote.' },
  CONFIG_FILE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: 'Fix the configuration file; its schema is schemas/zreg-config.json.' },
  HTPASSWD_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: 'Each line is USER:HASH with a bcrypt hash, the one scheme zreg, nginx, Caddy and Apache all check: make the file with `htpasswd -B -c FILE USER` (Debian: apache2-utils) and add users with `htpasswd -B FILE USER`.' },
  STORE_NOT_FOUND: { oci: 'NAME_UNKNOWN', status: 404, exit: 3, hint: 'Add an image first (`zreg add SOURCE --store DIR`, which creates the store), or point --store (or --overlay) at an existing store.' },
  PORT_IN_USE: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'Another process listens there (`ss -ltnp` names it); stop it, or pick another --port (0 picks a free one).' },
  ADDRESS_UNAVAILABLE: { oci: 'UNAVAILABLE', status: 503, exit: 2, hint: 'Bind an address of this machine (127.0.0.1, 0.0.0.0 for all, or one `ip addr` lists) and a port above 1023 unless you run as root.' },
  HOST_UNKNOWN: { oci: 'UNAVAILABLE', status: 503, exit: 2, hint: 'The host name does not resolve: check it for typos, or give an IP address.' },
  CONNECTION_FAILED: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'The other side is down or unreachable: check the address and that it runs, then retry.' },
  PERMISSION_DENIED: { oci: 'DENIED', status: 500, exit: 2, hint: 'Run as a user who may use that path, change its permissions, or point the flag (--store, --out, --config, ...) at another path.' },
  PATH_NOT_FOUND: { oci: 'NAME_UNKNOWN', status: 500, exit: 3, hint: 'Check the path for typos; a directory zreg writes into must have an existing parent.' },
  PATH_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: 'A path is not of the kind expected (a file where a directory belongs, or the reverse); check the paths you gave.' },
  NO_SPACE: { oci: 'UNAVAILABLE', status: 507, exit: 5, hint: 'Free space on that file system (`df -h`) and run again; the interrupted write was not committed.' },
  TOO_MANY_OPEN_FILES: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'Raise the open-file limit (`ulimit -n 65536`) and run again.' },
  REMOTE_UNAUTHORIZED: { oci: 'UNAUTHORIZED', status: 401, exit: 5, hint: 'Pass --creds USER[:PASS], or log in with `skopeo login`, `podman login` or `docker login` (zreg reads their auth.json and ~/.docker/config.json); check that the user may pull this repository.' },
  REMOTE_UNAVAILABLE: { oci: 'UNAVAILABLE', status: 503, exit: 5, hint: 'The registry kept failing (5xx, 429, dropped connections) through every retry; try again later, or lower --jobs.' },
  REMOTE_INVALID: { oci: 'UNSUPPORTED', status: 502, exit: 4, hint: 'The registry answered what the distribution-spec does not allow; check that the address is a registry (GET /v2/ answers 200 or 401).' },
  TLS_FAILED: { oci: 'UNAVAILABLE', status: 503, exit: 2, hint: "The registry's certificate is not trusted or does not match its name: give its CA with --cert-dir DIR (a *.crt file), or --tls-verify=false for a test registry." },
  AUTH_FILE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: 'Fix the registry credentials file the message names (containers-auth.json(5) or docker config.json format), or log in again with `skopeo login`, `podman login` or `docker login` to rewrite it.' },
  SYNC_FILE_INVALID: { oci: 'UNSUPPORTED', status: 500, exit: 2, hint: "Fix the sync file: skopeo sync's YAML format (schemas/sync-file.json), plus zreg's keys platforms, keep-last, with-referrers and prefix." },
  SYNC_INCOMPLETE: { oci: 'UNSUPPORTED', status: 500, exit: 5, hint: 'The images listed failed and the others were mirrored; fix what each error says and run sync again: what is stored is not fetched again.' },
  PUBLISH_TARGET_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: 'TARGET is dir:PATH (a new or empty directory, or one zreg wrote, on a disk or mount) or s3://BUCKET[/PREFIX] (with --endpoint URL for an S3-compatible server).' },
  S3_ACCESS_DENIED: { oci: 'DENIED', status: 403, exit: 5, hint: 'Give credentials that may write the bucket: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile of ~/.aws/credentials and ~/.aws/config (AWS_PROFILE); check the key, the secret and the bucket policy.' },
  BUCKET_NOT_FOUND: { oci: 'NAME_UNKNOWN', status: 404, exit: 3, hint: 'Create the bucket first (`aws s3 mb s3://BUCKET`, or the console of your provider), or check its name, --endpoint and --region.' },
  PUBLISH_FAILED: { oci: 'UNAVAILABLE', status: 502, exit: 5, hint: 'The target refused a write for the reason given; fix it and run publish again: what was written is not sent again, and no tag names anything missing meanwhile.' },
  REDIRECT_INVALID: { oci: 'UNSUPPORTED', status: 400, exit: 2, hint: "A redirect rule is --redirect 'PATTERN=URL[,URL...]', or in the config file's redirects: {repository, mediaTypes, minSize, to, choose: hash|first, status: 301|302|307|308}; a URL template is an absolute http(s) URL with {algorithm}, {hex}, {digest} or {repository}." },
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

/** What a failed system call was doing, in words: `mkdir` -> "create the directory". */
const syscallVerbs: Record<string, string> = {
  open: 'open',
  mkdir: 'create the directory',
  mkdtemp: 'create a directory in',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove the directory',
  rm: 'remove',
  scandir: 'read the directory',
  opendir: 'read the directory',
  read: 'read',
  write: 'write',
  stat: 'look at',
  lstat: 'look at',
  access: 'use',
  copyfile: 'copy',
  symlink: 'create the link',
  link: 'link',
  fsync: 'flush',
  listen: 'listen on',
  bind: 'listen on',
  connect: 'connect to',
}

/**
 * A Node system error (`err.code` such as EACCES, ENOSPC, EADDRINUSE, ENOTFOUND) as the table entry a
 * user can act on, its message naming the path (`fallbackPath` when the error has none, as a stream's
 * write does not), host or port, and then `about` (what the path is, e.g. "--tls-key"); undefined for
 * anything else.
 */
export function systemError(error: unknown, fallbackPath?: string, about?: string): ZregError | undefined {
  const found = describeSystemError(error, fallbackPath)
  return found && about ? new ZregError(found.code, `${found.message} (${about})`, { cause: error }) : found
}

function describeSystemError(error: unknown, fallbackPath?: string): ZregError | undefined {
  if (!(error instanceof Error)) return undefined
  const { code, syscall, path = fallbackPath, dest, hostname, address, port } = error as NodeJS.ErrnoException & { dest?: string; hostname?: string; address?: string; port?: number }
  if (typeof code !== 'string') return undefined
  const verb = syscallVerbs[syscall ?? ''] ?? syscall ?? 'use'
  const where = path === undefined ? (address === undefined ? '' : port === undefined ? address : `${address.includes(':') ? `[${address}]` : address}:${port}`) : dest === undefined ? path : `${path} to ${dest}`
  const at = where === '' ? '' : ` ${where}`
  const options = { cause: error }
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      if (syscall === 'listen' || syscall === 'bind') return new ZregError('ADDRESS_UNAVAILABLE', `not allowed to listen on${at}: ports below 1024 need root`, options)
      return new ZregError('PERMISSION_DENIED', `cannot ${verb}${at}: permission denied`, options)
    case 'EROFS':
      return new ZregError('PERMISSION_DENIED', `cannot ${verb}${at}: the file system is read-only`, options)
    case 'ENOENT':
      return new ZregError('PATH_NOT_FOUND', `cannot ${verb}${at}: no such file or directory`, options)
    case 'ENOTDIR':
      return new ZregError('PATH_INVALID', `cannot ${verb}${at}: a part of the path is a file, not a directory`, options)
    case 'EISDIR':
      return new ZregError('PATH_INVALID', `cannot ${verb}${at}: it is a directory, not a file`, options)
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new ZregError('PATH_INVALID', `cannot ${verb}${at}: something is already there`, options)
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new ZregError('PATH_INVALID', `cannot ${verb}${at}: ${code === 'ELOOP' ? 'too many symbolic links' : 'the name is too long'}`, options)
    case 'ENOSPC':
    case 'EDQUOT':
      return new ZregError('NO_SPACE', `cannot ${verb}${at}: ${code === 'EDQUOT' ? 'the disk quota is exceeded' : 'no space left on the device'}`, options)
    case 'EMFILE':
    case 'ENFILE':
      return new ZregError('TOO_MANY_OPEN_FILES', `cannot ${verb}${at}: too many open files`, options)
    case 'EADDRINUSE':
      return new ZregError('PORT_IN_USE', `cannot listen on${at}: the port is already in use`, options)
    case 'EADDRNOTAVAIL':
      return new ZregError('ADDRESS_UNAVAILABLE', `cannot listen on${at}: ${address ?? 'the address'} is not an address of this machine`, options)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new ZregError('HOST_UNKNOWN', `cannot resolve the host name ${hostname ?? where}${code === 'EAI_AGAIN' ? ' (the name server did not answer)' : ''}`, options)
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ZregError('CONNECTION_FAILED', `cannot ${verb}${at}: ${error.message.replace(/^\S+ \S+ ?/, '') || code}`, options)
    default:
      return undefined
  }
}
