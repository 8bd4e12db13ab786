/** True when an Accept header names `mediaType` itself; like distribution, a wildcard does not count as admitting an index. */
export function acceptsMediaType(accept: string | string[] | undefined, mediaType: string): boolean {
  if (accept === undefined) return false
  const values = Array.isArray(accept) ? accept : [accept]
  return values.some((value) => value.split(',').some((item) => item.split(';', 1)[0]!.trim().toLowerCase() === mediaType))
}
