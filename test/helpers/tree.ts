import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
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
