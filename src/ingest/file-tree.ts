import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { ZregError } from '../errors.js'
import { readManifestBytes } from '../oci/manifest.js'
import { isGzipFile, readEntry, readTarIndex, resolveEntry, safeEntryPath, type TarEntry } from './tar-index.js'

/** A byte range inside one file: `start` (default 0) and at most `length` bytes. */
export interface ByteRange {
  start?: number
  length?: number
}

/**
 * The files of a source, by path relative to its root: a layout directory, or a tar archive read in
 * place. Paths use `/`; a path outside the tree is UNSAFE_PATH.
 */
export interface FileTree {
  /** Names the source in messages (`oci-archive:image.tar`). */
  readonly name: string
  /** The file's bytes, or undefined when the tree holds no regular file at `path`. */
  open(path: string, range?: ByteRange): Promise<Readable | undefined>
}

/** Where a file's bytes lie on disk: `size` bytes of `file` from `offset`. */
export interface FileLocation {
  file: string
  offset: number
  size: number
}

/**
 * Optional ability: the tree's files are byte ranges of files on disk, so another thread can read one
 * by itself (a worker converting a layer) instead of being handed its bytes.
 */
export interface FileLocations {
  /** Where the regular file `path` lies, or undefined when the tree holds none there. */
  locate(path: string): FileLocation | undefined
}

export function hasFileLocations(tree: object): tree is FileLocations {
  return typeof (tree as Partial<FileLocations>).locate === 'function'
}

/** The stream's bytes under `limit` (oci/manifest's reader), then the stream closed. */
async function collect(stream: Readable, limit: number, what: string): Promise<Buffer> {
  return readManifestBytes(stream as AsyncIterable<Buffer>, what, limit).finally(() => stream.destroy())
}

/** The file whole (it must be small: a manifest, config or index), or undefined when absent. */
export async function readSmallFile(tree: FileTree, path: string, limit: number): Promise<Buffer | undefined> {
  const stream = await tree.open(path)
  return stream === undefined ? undefined : collect(stream, limit, `${tree.name}: ${path}`)
}

/** The first `length` bytes of the file (fewer when it is shorter), or undefined when absent. */
export async function readHead(tree: FileTree, path: string, length: number): Promise<Buffer | undefined> {
  const stream = await tree.open(path, { start: 0, length })
  return stream === undefined ? undefined : collect(stream, length, `${tree.name}: ${path}`)
}

/** A directory on disk, such as an `oci:` layout. */
export class DirectoryTree implements FileTree {
  constructor(
    private readonly dir: string,
    readonly name: string,
  ) {}

  async open(path: string, range: ByteRange = {}): Promise<Readable | undefined> {
    const handle = await open(join(this.dir, safeEntryPath(path)), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'EISDIR') return undefined
      throw error
    })
    if (handle === undefined) return undefined
    if ((await handle.stat()).isDirectory()) {
      await handle.close()
      return undefined
    }
    const start = range.start ?? 0
    if (range.length === 0) {
      await handle.close()
      return Readable.from([])
    }
    return handle.createReadStream(range.length === undefined ? { start } : { start, end: start + range.length - 1 })
  }
}

/**
 * A tar archive read in place: its headers are indexed once, then each file is streamed from its
 * offset, so an ingest reads every byte once and writes it once (into the store). Links inside the
 * archive are followed; every link is checked when the archive is opened, so a hostile one is
 * refused before anything is read.
 */
export class TarArchiveTree implements FileTree, FileLocations {
  private constructor(
    private readonly file: string,
    private readonly entries: ReadonlyMap<string, TarEntry>,
    readonly name: string,
  ) {}

  /**
   * Indexes the tar at `file`. A gzipped tar cannot be read by offset, so it is decompressed once into
   * a file under `scratch()` (a private directory removed with the ingest) and that copy is indexed.
   */
  static async open(file: string, name: string, scratch: () => Promise<string>): Promise<TarArchiveTree> {
    let tarFile = file
    if (await isGzipFile(file)) {
      tarFile = join(await scratch(), 'archive.tar')
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(tarFile, { flags: 'wx' })).catch((error: unknown) => {
        throw new ZregError('ARCHIVE_INVALID', `${name} is a damaged gzip file: ${(error as Error).message}; export it again`, { cause: error })
      })
    }
    const entries = await readTarIndex(tarFile, name)
    for (const entry of entries.values()) {
      if (entry.type === 'symlink' || entry.type === 'link') resolveEntry(entries, entry.name, name)
    }
    return new TarArchiveTree(tarFile, entries, name)
  }

  locate(path: string): FileLocation | undefined {
    const entry = resolveEntry(this.entries, safeEntryPath(path), this.name)
    return entry === undefined ? undefined : { file: this.file, offset: entry.offset, size: entry.size }
  }

  async open(path: string, range: ByteRange = {}): Promise<Readable | undefined> {
    const entry = resolveEntry(this.entries, safeEntryPath(path), this.name)
    return entry === undefined ? undefined : readEntry(this.file, entry, range)
  }
}
