import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { digestOf } from '../../src/oci/digest.js'
import { dataDir } from '../paths.js'
import { run } from '../support/children.js'
import { curlRequest, type CurlAnswer } from '../support/curl.js'
import { freshDir } from '../support/disk.js'
import { log } from '../support/log.js'
import type { Server } from '../support/server.js'
import { MiB } from '../support/stats.js'
import { withFreshServer, type PushTarget } from './e-push-targets.js'

/** The repository every upload goes to. */
const uploadRepository = 'bench/up'

/** 'monolithic': one POST ?digest= with the body; 'post-put': POST, then PUT ?digest= with the whole body; 'chunked': POST, a PATCH per chunk, PUT ?digest=. */
export type UploadMode = 'monolithic' | 'post-put' | 'chunked'

export interface Chunk {
  file: string
  /** Bytes. */
  size: number
}

/** One answer of an upload, as results.json records it. */
export interface UploadStep {
  step: string
  status: number
  expected: number
  ms: number
  curlCode?: number | null
  stderr?: string
}

/** One upload: MB are 10^6 bytes. */
export interface UploadRun {
  seconds: number
  MBps: number
  ok: boolean
  error: string | undefined
  steps: UploadStep[]
  rssMaxMB?: number
  rssIdleMB?: number
}

const withDigest = (location: string, digest: string) => `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`

/**
 * Uploads `file` (`digest`, `size` bytes) to bench/up in `mode`, following each Location exactly as
 * returned. Returns the wall time and every answer's status; a wrong status, or a HEAD of the blob
 * afterwards without its full Content-Length, makes it not ok.
 */
export async function curlUpload(server: Server, upload: { mode: UploadMode; file: string; digest: string; size: number; chunks: Chunk[] }): Promise<UploadRun> {
  const { mode, file, digest, size, chunks } = upload
  const base = server.url
  const start = `${base}/v2/${uploadRepository}/blobs/uploads/`
  const steps: UploadStep[] = []
  const step = (name: string, response: CurlAnswer, expected: number): CurlAnswer & { location: string } => {
    steps.push({ step: name, status: response.status, expected, ms: Math.round(response.ms), ...(response.curlCode ? { curlCode: response.curlCode, stderr: response.stderr } : {}) })
    if (response.status !== expected) throw new Error(`${name}: ${response.status} (expected ${expected})`)
    if (expected === 202 && !response.location) throw new Error(`${name}: 202 without a Location`)
    return { ...response, location: response.location ?? '' }
  }
  const started = performance.now()
  let error: string | undefined
  try {
    if (mode === 'monolithic') {
      step('POST ?digest=', await curlRequest(base, 'POST', `${start}?digest=${encodeURIComponent(digest)}`, { bodyFile: file }), 201)
    } else {
      let { location } = step('POST', await curlRequest(base, 'POST', start), 202)
      if (mode === 'post-put') {
        step('PUT ?digest= (whole body)', await curlRequest(base, 'PUT', withDigest(location, digest), { bodyFile: file }), 201)
      } else {
        let offset = 0
        for (const [i, chunk] of chunks.entries()) {
          const range = `${offset}-${offset + chunk.size - 1}`
          ;({ location } = step(`PATCH ${i + 1}/${chunks.length}`, await curlRequest(base, 'PATCH', location, { bodyFile: chunk.file, headers: ['-H', `Content-Range: ${range}`] }), 202))
          offset += chunk.size
        }
        step('PUT ?digest=', await curlRequest(base, 'PUT', withDigest(location, digest)), 201)
      }
    }
  } catch (e) {
    error = (e as Error).message
  }
  const seconds = (performance.now() - started) / 1000
  if (!error) {
    const head = await fetch(`${base}/v2/${uploadRepository}/blobs/${digest}`, { method: 'HEAD' })
    const headOk = head.status === 200 && Number(head.headers.get('content-length')) === size
    if (!headOk) error = `HEAD after the upload: ${head.status}, Content-Length ${head.headers.get('content-length')} (expected ${size})`
  }
  return { seconds, MBps: size / seconds / 1e6, ok: !error, error, steps }
}

/** Splits `file` into `n` equal chunk files under bench/.data/push-chunks (made once, reused). */
export async function ensureChunks(file: string, digest: string, size: number, n: number): Promise<Chunk[]> {
  const dir = join(dataDir, 'push-chunks')
  const marker = join(dir, 'chunks.json')
  const chunkSize = size / n
  if (!Number.isInteger(chunkSize)) throw new Error(`${size} bytes do not split into ${n} equal chunks`)
  const chunks = Array.from({ length: n }, (_, i) => ({ file: join(dir, `chunk${i}`), size: chunkSize }))
  const wanted = JSON.stringify({ digest, size, n })
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted && chunks.every((c) => existsSync(c.file) && statSync(c.file).size === c.size)) return chunks
  log(`(e) splitting the ${(size / MiB).toFixed(0)} MiB blob into ${n} chunks of ${(chunkSize / MiB).toFixed(0)} MiB in ${dir}`)
  freshDir(dir)
  await run('split', ['-b', String(chunkSize), '-d', '-a', '1', file, join(dir, 'chunk')], { timeoutMs: 600000 })
  writeFileSync(marker, wanted)
  return chunks
}

/** Whether a server takes a whole blob in one POST ?digest= (201), or only opens a session (202): the status, probed on a fresh server with a 4 KiB blob in `dir`. */
export async function probeMonolithic(target: PushTarget, dir: string): Promise<number> {
  const bytes = Buffer.from(digestOf('zreg-bench-probe').slice('sha256:'.length).repeat(64))
  const digest = digestOf(bytes)
  const file = join(dir, `probe-${process.pid}`)
  writeFileSync(file, bytes)
  try {
    return await withFreshServer(target, async (server) => {
      const r = await curlRequest(server.url, 'POST', `${server.url}/v2/${uploadRepository}/blobs/uploads/?digest=${digest}`, { bodyFile: file })
      return r.status
    })
  } finally {
    rmSync(file, { force: true })
  }
}
