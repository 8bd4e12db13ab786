import { ZregError } from '../errors.js'

export type SourceTransport = 'oci' | 'oci-archive' | 'docker-archive' | 'docker'

/** A SOURCE argument in skopeo's transport syntax. */
export interface SourceRef {
  transport: SourceTransport
  /** The file or directory; for `docker://`, the image reference after it (`HOST/REPO:TAG`). */
  path: string
  /** The ref name in a layout, a docker reference, or `@N` (an index) in a docker-archive. */
  reference?: string
}

const transports: readonly SourceTransport[] = ['oci', 'oci-archive', 'docker-archive']

export function parseSource(text: string): SourceRef {
  if (text.startsWith('docker://')) {
    const path = text.slice('docker://'.length)
    if (path === '') throw new ZregError('SOURCE_INVALID', `source "${text}" names no image; write docker://HOST/REPO:TAG`)
    // docker's rules read `localhost:5000` alone as docker.io/library/localhost, tag 5000: surely not meant.
    if (/^(?:localhost|[^/]*\.[^/]*):\d+$/.test(path)) throw new ZregError('SOURCE_INVALID', `source "${text}" names a registry but no repository; write docker://${path}/REPO:TAG`)
    return { transport: 'docker', path }
  }
  if (/^docker:?\/+/.test(text)) throw new ZregError('SOURCE_INVALID', `unsupported source "${text}"; a registry image is docker://HOST/REPO:TAG (a colon and two slashes)`)
  const colon = text.indexOf(':')
  const transport = text.slice(0, colon) as SourceTransport
  if (colon <= 0 || !transports.includes(transport)) {
    throw new ZregError('SOURCE_INVALID', `unsupported source "${text}"`)
  }
  // As skopeo does: the path ends at the first colon after the transport.
  const rest = text.slice(colon + 1)
  const split = rest.indexOf(':')
  const path = split < 0 ? rest : rest.slice(0, split)
  const reference = split < 0 ? undefined : rest.slice(split + 1)
  if (path === '') throw new ZregError('SOURCE_INVALID', `source "${text}" names no path`)
  if (reference === '') throw new ZregError('SOURCE_INVALID', `source "${text}" has an empty reference after the colon`)
  return reference === undefined ? { transport, path } : { transport, path, reference }
}
