import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { digestOf } from '../../src/oci/digest.js'
import { MediaTypes } from '../../src/oci/media-types.js'
import { storeRefs } from '../data/store-refs.js'
import { zregBin } from '../paths.js'
import { run, type RunResult } from '../support/children.js'
import { runMeasured } from '../support/measured-run.js'
import { mirrorBig, mirrorDir, mirrorMany, mirrorTag } from './g-mirror-data.js'

/** What a no-change run must leave as it was: a hash of the store's index.json and its list of blob files. */
export function storeSnapshot(store: string): string {
  const listing = spawnSync('find', [join(store, 'blobs'), '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').sort().join('\n')
  let index = ''
  try {
    index = readFileSync(join(store, 'index.json'), 'utf8')
  } catch {
    // no index
  }
  return digestOf(`${index}\n${listing}`).slice('sha256:'.length)
}

/** The problems with a store zreg wrote: refs (`repository:tag` -> digest) missing or pointing elsewhere than the registry's, and `zreg verify`. */
export async function checkMirrorStore(store: string, expected: Record<string, string>): Promise<string[]> {
  const refs = await storeRefs(store)
  const problems: string[] = []
  if (!refs) problems.push(`no index.json in ${store}`)
  else {
    const wrong = Object.entries(expected).filter(([ref, digest]) => refs.get(ref) !== digest)
    const [firstRef, firstDigest] = wrong[0] ?? []
    if (wrong.length) problems.push(`${wrong.length} of ${Object.keys(expected).length} refs missing or not the registry's manifest (first: ${firstRef} is ${refs.get(firstRef!)}, expected ${firstDigest})`)
  }
  const verify = await run(process.execPath, [zregBin, 'verify', '--store', store], { allowFail: true })
  if (verify.code !== 0) problems.push(`zreg verify: ${(verify.stderr || verify.stdout).trim().slice(-500)}`)
  return problems
}

/**
 * The problems with what skopeo sync wrote into `dir`: images missing or with another manifest. Without
 * --scoped, skopeo names each image's dir: by the repository's last component (`many:TAG`).
 */
export function checkSkopeoSync(dir: string, many: Record<string, string>): string[] {
  const name = mirrorMany.split('/').pop()!
  const wrong = Object.entries(many).filter(([tag, digest]) => {
    try {
      return digestOf(readFileSync(join(dir, `${name}:${tag}`, 'manifest.json'))) !== digest
    } catch {
      return true
    }
  })
  return wrong.length ? [`${wrong.length} of ${Object.keys(many).length} images missing or with another manifest (first: ${name}:${wrong[0]![0]})`] : []
}

/** A zreg run's --json output, or its last lines when it printed something else. */
export function jsonOrTail(stdout: string): unknown {
  try {
    return JSON.parse(stdout) as unknown
  } catch {
    return stdout.trim().slice(-1000) || undefined
  }
}

/**
 * Whether this zreg can mirror: `zreg add docker://` of one small image, and `zreg sync --help`. The
 * feature may be missing from the build under test; then the zreg side is reported as not run, with why.
 */
export async function probeZregMirror(base: string, distinct: number): Promise<{ add: string | undefined; sync: string | undefined }> {
  const store = join(mirrorDir, `probe-store-${process.pid}`)
  rmSync(store, { recursive: true, force: true })
  try {
    const ref = `${base.slice('http://'.length)}/${mirrorMany}:${mirrorTag(0, distinct)}`
    const add = await run(process.execPath, [zregBin, 'add', `docker://${ref}`, '--store', store], { allowFail: true, timeoutMs: 120000 })
    const sync = await run(process.execPath, [zregBin, 'sync', '--help'], { allowFail: true, timeoutMs: 60000 })
    const why = (r: RunResult) => (r.stderr || r.stdout).trim().split('\n')[0]!.slice(0, 300)
    return {
      add: add.code === 0 ? undefined : `zreg add docker://${ref} failed (exit ${add.code ?? add.signal}): ${why(add)}`,
      sync: sync.code === 0 ? undefined : `zreg sync --help failed (exit ${sync.code ?? sync.signal}): ${why(sync)}`,
    }
  } finally {
    rmSync(store, { recursive: true, force: true })
  }
}

/**
 * What downloading the big image's layers costs with nothing else done: a Node 20 process that GETs
 * every layer at once with undici (as zreg does) and discards the bytes, and curl doing the same, one
 * process per layer. A floor for zreg add docker://, which also hashes, writes and fsyncs them.
 */
export async function mirrorDownloadFloor(host: string): Promise<{ nodeSeconds: number; curlSeconds: number }> {
  const base = `http://${host}/v2/${mirrorBig.repository}`
  const manifest = JSON.parse((await run('curl', ['-sf', '-H', `Accept: ${MediaTypes.OciManifest}`, `${base}/manifests/${mirrorBig.tag}`])).stdout) as { layers: { digest: string }[] }
  const urls = manifest.layers.map((layer) => `${base}/blobs/${layer.digest}`)
  const drain = `import { request } from 'undici'
await Promise.all(${JSON.stringify(urls)}.map(async (url) => { const { body } = await request(url, { maxRedirections: 1 }); for await (const chunk of body) void chunk }))`
  await run('sync', [])
  const node = await runMeasured(process.execPath, ['--input-type=module', '-e', drain])
  const curl = await runMeasured('sh', ['-c', `${urls.map((url) => `curl -sf -o /dev/null '${url}' &`).join(' ')} wait`])
  return { nodeSeconds: node.seconds, curlSeconds: curl.seconds }
}
