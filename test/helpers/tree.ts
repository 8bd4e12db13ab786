import { createHash } from 'node:crypto'
import { readdir, readFile, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** Every file under `dir` (following links), as relative path -> sha256 of its bytes. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const result = new Map<string, string>()
  async function walk(relative: string): Promise<void> {
    for (const name of (await readdir(join(dir, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name
      const info = await stat(join(dir, path))
      if (info.isDirectory()) await walk(path)
      else result.set(path, createHash('sha256').update(await readFile(join(dir, path))).digest('hex'))
    }
  }
  await walk('')
  return result
}

/** Files under `dir` with their sizes: a cheap snapshot to prove a failed command changed nothing. */
export async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const lines: string[] = []
  for (const entry of entries) {
    const path = join(entry.parentPath ?? entry.path, entry.name)
    const info = await stat(path)
    lines.push(`${path.slice(dir.length)} ${entry.isDirectory() ? 'dir' : info.size}`)
  }
  return lines.sort()
}

/**
 * Files under each of `dirs` (not following links) whose bytes or link targets contain `text`: a tree or
 * configuration that names a path of the machine that built it lists it here.
 */
export async function filesMentioning(text: string, dirs: string[]): Promise<string[]> {
  const found: string[] = []
  const needle = Buffer.from(text)
  for (const dir of dirs) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath ?? entry.path, entry.name)
      if (entry.isSymbolicLink()) {
        if ((await readlink(path)).includes(text) || (await readlink(path)).startsWith('/')) found.push(`${path} (link)`)
      } else if (entry.isFile() && (await readFile(path)).includes(needle)) found.push(path)
    }
  }
  return found
}
