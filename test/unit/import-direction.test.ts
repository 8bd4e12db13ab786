import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { repoRoot } from '../helpers/paths.js'

/** Which internal directories each layer may import: the layers go one way down. */
const allowed: Record<string, string[]> = {
  oci: ['oci', 'errors'],
  // Who may read what: the rules zreg serve and push mode apply, and the host configurations carry out.
  access: ['access', 'oci', 'errors'],
  store: ['store', 'oci', 'errors'],
  remote: ['remote', 'oci', 'errors'],
  workers: ['workers'],
  ingest: ['ingest', 'workers', 'remote', 'store', 'oci', 'errors'],
  sync: ['sync', 'ingest', 'remote', 'store', 'oci', 'errors', 'config'],
  build: ['build', 'access', 'store', 'oci', 'errors'],
  server: ['server', 'access', 'build', 'store', 'oci', 'errors'],
  query: ['query', 'workers', 'build', 'store', 'oci', 'errors'],
  maintenance: ['maintenance', 'ingest', 'remote', 'store', 'oci', 'errors'],
  clients: ['clients', 'store', 'oci', 'errors'],
  publish: ['publish', 'build', 'store', 'oci', 'errors'],
  // cli turns flags into the library's options (redirect rules are build's), and runs `zreg serve`'s
  // and `zreg push`'s servers in the program the commands hand them to (server-main.ts).
  cli: ['cli', 'config', 'access', 'build', 'server', 'store', 'errors', 'oci', 'ingest', 'remote'],
  commands: ['commands', 'cli', 'ingest', 'sync', 'build', 'server', 'access', 'query', 'maintenance', 'publish', 'clients', 'oci', 'errors'],
}

test('internal imports go one way down the layers, and build never names the layout store', async () => {
  const src = join(repoRoot, 'src')
  const files = (await readdir(src, { recursive: true })).filter((file) => file.endsWith('.ts'))
  for (const file of files) {
    const layer = file.includes('/') ? file.split('/')[0]! : undefined
    if (layer === undefined || allowed[layer] === undefined) continue
    const text = await readFile(join(src, file), 'utf8')
    for (const match of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(src, join(src, dirname(file), match[1]!))
      const targetLayer = target.includes('/') ? target.split('/')[0]! : target.replace(/\.js$/, '')
      assert.ok(allowed[layer]!.includes(targetLayer), `${file} imports ${target}`)
      if (layer === 'build') assert.ok(!target.includes('layout-store'), `${file} imports the layout store`)
    }
  }
})
