import { createReadStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { ZregError } from '../errors.js'

/** One member of a tar archive; `offset` is where its data starts in the (uncompressed) file. */
export interface TarEntry {
  name: string
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other'
  offset: number
  size: number
  linkname?: string
}

/**
 * The path an archive entry stands for, or an UNSAFE_PATH error: absolute names and `..`
 * components would name something outside the archive (tar-slip).
 */
export function safeEntryPath(name: string): string {
  const normalized = posix.normalize(name.replace(/\\/g, '/'))
  if (name.includes('\0') || posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new ZregError('UNSAFE_PATH', `archive entry "${name}" points outside the archive`)
  }
  return normalized.replace(/\/+$/, '')
}

const block = 512
/** PAX and GNU long-name records are small; a huge one is a broken or hostile archive. */
const maxMetaBytes = 1024 * 1024
/** As Linux's MAXSYMLINKS: more hops than this is a loop, or close enough to one. */
const maxLinkHops = 40

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length)
  const end = field.indexOf(0)
  return field.subarray(0, end < 0 ? length : end).toString('utf8')
}

/** A numeric header field: octal text, or GNU base-256 (high bit set) for values over 8 GiB. */
function number(header: Buffer, start: number, length: number): number {
  const field = header.subarray(start, start + length)
  if ((field[0]! & 0x80) !== 0) {
    let value = field[0]! & 0x7f
    for (const byte of field.subarray(1)) value = value * 256 + byte
    return value
  }
  const digits = text(header, start, length).trim()
  return digits === '' ? 0 : Number.parseInt(digits, 8)
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
  return sum === number(header, 148, 8)
}

/** PAX extended header records: `LEN key=value\n`, LEN counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {}
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    const length = Number.parseInt(data.subarray(at, space).toString('ascii'), 10)
    if (space < 0 || !(length > 0) || at + length > data.length) break
    const record = data.subarray(space + 1, at + length - 1).toString('utf8')
    const equals = record.indexOf('=')
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1)
    at += length
  }
  return records
}

const typeNames: Record<string, TarEntry['type']> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '5': 'directory' }

async function readAt(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return buffer.subarray(0, done)
}

/**
 * Reads the headers of the (uncompressed) tar at `file`, seeking past each member's data, and returns
 * its members by normalized path (a later member of the same name replaces an earlier one, as on
 * extraction). Understands ustar, PAX (path, linkpath, size) and GNU long names and sizes.
 * ARCHIVE_INVALID when it is not a tar or is truncated; UNSAFE_PATH for names outside the archive.
 */
export async function readTarIndex(file: string, display: string): Promise<Map<string, TarEntry>> {
  const invalid = (why: string) => new ZregError('ARCHIVE_INVALID', `${display} ${why}`)
  const handle = await open(file, 'r')
  try {
    const fileSize = (await handle.stat()).size
    const entries = new Map<string, TarEntry>()
    let position = 0
    let pax: Record<string, string> = {}
    let longName: string | undefined
    let longLink: string | undefined
    for (;;) {
      const header = await readAt(handle, block, position)
      if (header.length === 0 && position > 0) throw invalid('is truncated: it ends without the end-of-archive marker; export it again')
      if (header.length < block) throw invalid(position === 0 ? 'is empty, not a tar archive' : 'is truncated in the middle of a header; export it again')
      if (header.every((byte) => byte === 0)) break
      if (!checksumMatches(header)) {
        throw invalid(position === 0 ? 'is not a tar archive (no valid tar header at its start)' : `has a damaged tar header at byte ${position}; export it again`)
      }
      const typeflag = String.fromCharCode(header[156]!)
      const size = pax.size !== undefined ? Number(pax.size) : number(header, 124, 12)
      const dataStart = position + block
      if (!Number.isSafeInteger(size) || size < 0 || dataStart + size > fileSize) {
        throw invalid(`is truncated: member "${text(header, 0, 100)}" needs ${size} bytes past byte ${dataStart} of ${fileSize}; export it again`)
      }
      position = dataStart + Math.ceil(size / block) * block
      if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K' || typeflag === 'g') {
        if (size > maxMetaBytes) throw invalid(`has a ${size}-byte extended header; image archives use small ones`)
        const data = await readAt(handle, size, dataStart)
        if (typeflag === 'x') pax = { ...pax, ...parsePax(data) }
        else if (typeflag === 'L') longName = text(data, 0, data.length)
        else if (typeflag === 'K') longLink = text(data, 0, data.length)
        continue
      }
      // ustar splits long names into prefix/name; GNU's "ustar  " magic uses that area for other fields.
      const prefix = header.subarray(257, 263).toString('latin1') === 'ustar\0' ? text(header, 345, 155) : ''
      const rawName = pax.path ?? longName ?? (prefix === '' ? text(header, 0, 100) : `${prefix}/${text(header, 0, 100)}`)
      const linkname = pax.linkpath ?? longLink ?? text(header, 157, 100)
      pax = {}
      longName = undefined
      longLink = undefined
      const name = safeEntryPath(rawName)
      if (name === '' || name === '.') continue
      const type = typeNames[typeflag] ?? 'other'
      entries.set(name, { name, type, offset: dataStart, size, ...(type === 'symlink' || type === 'link' ? { linkname } : {}) })
    }
    if (entries.size === 0) throw invalid('holds no files')
    return entries
  } finally {
    await handle.close()
  }
}

/**
 * Where the link `entry` leads, as a path inside the archive, or UNSAFE_PATH: a symlink is relative to
 * its own directory, a hard link to the archive root; an absolute target or one that climbs out with
 * `..` is refused, whether or not the path exists on this machine.
 */
function linkTarget(entry: TarEntry, display: string): string {
  const target = entry.linkname ?? ''
  const joined = entry.type === 'symlink' ? posix.join(posix.dirname(entry.name), target) : posix.normalize(target)
  if (target === '' || posix.isAbsolute(target) || joined === '..' || joined.startsWith('../')) {
    throw new ZregError('UNSAFE_PATH', `${display}: "${entry.name}" is a link to "${target}", outside the archive`)
  }
  return joined.replace(/\/+$/, '')
}

/**
 * The regular file `path` names after following links inside the archive, or undefined when there is
 * none. Links are normal in image archives (containers/image writes `<id>/layer.tar -> ../<digest>.tar`,
 * docker save before 25 links repeated layers); links out of the archive and loops are UNSAFE_PATH, a
 * link to a directory (no image archive has one) is ARCHIVE_INVALID.
 */
export function resolveEntry(entries: ReadonlyMap<string, TarEntry>, path: string, display: string): TarEntry | undefined {
  let entry = entries.get(path)
  for (let hops = 0; entry !== undefined && (entry.type === 'symlink' || entry.type === 'link'); hops++) {
    if (hops === maxLinkHops) throw new ZregError('UNSAFE_PATH', `${display}: the links from "${path}" go round in a loop`)
    const target = linkTarget(entry, display)
    const next = entries.get(target)
    if (target === '.') throw new ZregError('ARCHIVE_INVALID', `${display}: "${entry.name}" is a link to the archive's top directory, not a file`)
    if (next === undefined) throw new ZregError('ARCHIVE_INVALID', `${display}: "${entry.name}" is a link to "${target}", which the archive does not hold`)
    entry = next
  }
  if (entry?.type === 'directory' && entry.name !== path) {
    throw new ZregError('ARCHIVE_INVALID', `${display}: "${path}" is a link to the directory "${entry.name}", not a file`)
  }
  return entry?.type === 'file' ? entry : undefined
}

/** True when the file starts with the gzip magic. */
export async function isGzipFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const head = await readAt(handle, 2, 0)
    return head[0] === 0x1f && head[1] === 0x8b
  } finally {
    await handle.close()
  }
}

/**
 * Bytes per read from an archive: an eighth of the system calls of the 64 KiB default, and the size
 * of ParallelGzip's blocks, so a block is one read and is not copied again.
 */
export const archiveReadBytes = 512 * 1024

/** The data of one member as a stream, read in place from the archive file. */
export function readEntry(file: string, entry: TarEntry, range: { start?: number; length?: number } = {}): Readable {
  const start = entry.offset + (range.start ?? 0)
  const length = Math.min(range.length ?? entry.size, entry.size - (range.start ?? 0))
  // createReadStream's `end` is inclusive, so it cannot express an empty range.
  if (length <= 0) return Readable.from([])
  return createReadStream(file, { start, end: start + length - 1, highWaterMark: archiveReadBytes })
}
