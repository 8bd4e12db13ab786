import { stat } from 'node:fs/promises'
import { ZregError } from '../errors.js'
import { DockerArchiveImages } from './docker-archive.js'
import { DirectoryTree, TarArchiveTree, type FileTree } from './file-tree.js'
import type { ImageSource } from './image-source.js'
import { OciLayoutImages } from './oci-layout-source.js'
import type { RemoteOptions } from './registry-source.js'
import type { SourceRef, SourceTransport } from './source.js'

async function kindOf(path: string): Promise<'file' | 'directory' | undefined> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'file'
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

async function hasFile(tree: FileTree, path: string): Promise<boolean> {
  const stream = await tree.open(path, { length: 0 })
  stream?.destroy()
  return stream !== undefined
}

/** SOURCE_NOT_FOUND for a missing path, saying how to write what the user probably meant. */
async function notFound(source: SourceRef): Promise<ZregError> {
  const what = source.transport === 'oci' ? 'directory' : 'file'
  // `docker-archive:FILE@1` reads as a file named "FILE@1"; the image index goes after a colon.
  const indexed = /^(.+)@(\d+)$/.exec(source.path)
  if (source.transport === 'docker-archive' && indexed !== null && (await kindOf(indexed[1]!)) === 'file') {
    return new ZregError('SOURCE_NOT_FOUND', `no such file: ${source.path}; to pick image ${indexed[2]} of ${indexed[1]}, write docker-archive:${indexed[1]}:@${indexed[2]}`)
  }
  return new ZregError('SOURCE_NOT_FOUND', `no such ${what}: ${source.path}`)
}

/**
 * The files SOURCE names, checked to be what its transport reads: a layout directory for `oci:`, a tar
 * (or gzipped tar) for the archives, with an OCI layout inside for `oci-archive:` and a manifest.json
 * for `docker-archive:`. A source given to the wrong transport is SOURCE_INVALID naming the right one.
 * `scratch` gives a private directory for the one case that needs disk (see TarArchiveTree.open).
 */
export async function openSourceTree(source: SourceRef, scratch: () => Promise<string>): Promise<FileTree> {
  const display = `${source.transport}:${source.path}`
  const kind = await kindOf(source.path)
  if (kind === undefined) throw await notFound(source)
  if (source.transport === 'oci') {
    if (kind === 'file') {
      throw new ZregError('SOURCE_INVALID', `${source.path} is a file, not a layout directory; for an archive, write oci-archive:${source.path} or docker-archive:${source.path}`)
    }
    return new DirectoryTree(source.path, display)
  }
  if (kind === 'directory') throw new ZregError('SOURCE_INVALID', `${source.path} is a directory, not an archive; for a layout directory, write oci:${source.path}`)
  const tree = await TarArchiveTree.open(source.path, display, scratch)
  if (source.transport === 'oci-archive' && !(await hasFile(tree, 'index.json')) && (await hasFile(tree, 'manifest.json'))) {
    throw new ZregError('SOURCE_INVALID', `${source.path} is a docker-archive (\`docker save\` format: a manifest.json and no index.json); add it as docker-archive:${source.path}`)
  }
  if (source.transport === 'docker-archive' && !(await hasFile(tree, 'manifest.json')) && (await hasFile(tree, 'index.json'))) {
    throw new ZregError('SOURCE_INVALID', `${source.path} is an OCI archive (an index.json and no manifest.json); add it as oci-archive:${source.path}`)
  }
  return tree
}

/** Each file transport's reader of the files openSourceTree checked. */
const readers: Record<Exclude<SourceTransport, 'docker'>, (tree: FileTree, display: string) => ImageSource> = {
  oci: (tree, display) => new OciLayoutImages(tree, display),
  'oci-archive': (tree, display) => new OciLayoutImages(tree, display),
  'docker-archive': (tree, display) => new DockerArchiveImages(tree, display),
}

/** The images SOURCE holds, read by its transport's module; `docker://` connects to the registry. */
export async function openImageSource(source: SourceRef, scratch: () => Promise<string>, remote: RemoteOptions = {}): Promise<ImageSource> {
  if (source.transport === 'docker') {
    // Loaded only for registry sources: the HTTP client costs every other add about 150 ms of start-up.
    const { openRegistrySource } = await import('./registry-source.js')
    return openRegistrySource(source.path, remote)
  }
  return readers[source.transport](await openSourceTree(source, scratch), source.path)
}
