/**
 * True when an Accept header names `mediaType` itself with a non-zero quality; like distribution, a
 * wildcard does not count as admitting an index.
 */
export function acceptsMediaType(accept: string | string[] | undefined, mediaType: string): boolean {
  if (accept === undefined) return false
  const values = Array.isArray(accept) ? accept : [accept]
  return values.some((value) =>
    value.split(',').some((item) => {
      const [type, ...parameters] = item.split(';').map((part) => part.trim().toLowerCase())
      return type === mediaType && !parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter))
    }),
  )
}

/** True when an If-None-Match header matches `etag` (a list, `*`, and weak forms included). */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((item) => {
    const candidate = item.trim()
    return candidate === '*' || candidate === etag || candidate === `W/${etag}`
  })
}
