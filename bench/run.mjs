#!/usr/bin/env node
// zreg benchmark suite. See bench/README.md.
//
//   node bench/run.mjs                 full run (several minutes)
//   node bench/run.mjs --quick         tiny durations and sizes, to check the suite works
//   node bench/run.mjs --only a,d      run some of: a (server-bound), b (pulls), c (memory), d (build scale),
//                                      e (push: uploads into zreg push mode and distribution),
//                                      f (ingest: zreg add of archives against skopeo copy),
//                                      g (mirror: zreg add docker:// and zreg sync against skopeo copy/sync),
//                                      h (publish: zreg publish s3:// against rclone sync, to s3rver),
//                                      i (redirects: manifest GETs with and without redirect rules, redirected blob GETs)
//
// Every server this script starts is stopped at the end, also on error or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const BENCH = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(BENCH, '..')
const DATA = join(BENCH, '.data')
// Run as an installed zreg is (its shebang), so it gets the V8 flags bin/run.js gives each command.
const ZREG = join(REPO, 'bin', 'run.js')

// ---------------------------------------------------------------------------------------------
// Options

const PHASES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']

function parseOptions(argv) {
  const options = { quick: false, only: new Set(PHASES) }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick') options.quick = true
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length)
      const parts = (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
      const bad = parts.filter((p) => !PHASES.includes(p))
      if (parts.length === 0 || bad.length > 0) throw new Error(`--only takes a comma-separated list of ${PHASES.join(',')} (got ${value})`)
      options.only = new Set(parts)
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`usage: node bench/run.mjs [--quick] [--only ${PHASES.join(',')}]\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}`)
  }
  return options
}

const options = parseOptions(process.argv.slice(2))
const Q = options.quick
const settings = {
  wrkSeconds: Q ? 2 : 10,
  wrkWarmupSeconds: Q ? 1 : 2,
  manifestConnections: 64,
  blobConnections: 8,
  // Pulls are client-bound and vary by +-15% run to run: more rounds for the short one.
  pullRounds: { img50: Q ? 1 : 7, img300: Q ? 1 : 5 },
  memoryClients: 8,
  memorySlowRate: '16M',
  memorySlowSeconds: Q ? 3 : 10,
  scaleRepositories: Q ? 100 : 1000,
  scaleTagsPerRepository: 10,
  scaleBigLayerBytes: 20 * 1024 * 1024,
  scaleSmallLayerBytes: 1024,
  fullBuildRuns: Q ? 2 : 3,
  rebuildRuns: Q ? 3 : 5,
  // (e) push: a fresh, empty server for every push and upload.
  pushRounds: Q ? 1 : 3,
  uploadRounds: Q ? 1 : 5,
  uploadChunks: 4,
  // (g) mirror: the reference registry holds one big image and mirrorTags tags of bench/many, which
  // point to mirrorDistinctImages distinct small images. Full runs mirror img300 (6 x 50 MiB); quick
  // runs a 6-layer image of mirrorQuickLayerBytes layers.
  mirrorTags: Q ? 20 : 200,
  mirrorDistinctImages: Q ? 5 : 20,
  mirrorQuickLayerBytes: 4 * 1024 * 1024,
}

// ---------------------------------------------------------------------------------------------
// Logging and small helpers

const t0 = performance.now()
function log(message) {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}\n`)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const MiB = 1024 * 1024
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const sha256hex = (bytes) => createHash('sha256').update(bytes).digest('hex')

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked so that nothing outlives the benchmark.

const live = new Set()

function track(child) {
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

function killAllSync(signal = 'SIGTERM') {
  for (const child of live) {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => killAllSync('SIGTERM'))
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping everything started by the benchmark`)
    killAllSync('SIGTERM')
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

/** Runs a command to completion; rejects on a non-zero exit unless allowFail. */
function run(cmd, args, { cwd = REPO, timeoutMs, allowFail = false, env, fullEnv = false, stdinFile } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now()
    const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore'
    // fullEnv: `env` is the whole environment (a client that must not see the machine's AWS_* variables).
    const child = track(spawn(cmd, args, { cwd, env: env ? (fullEnv ? env : { ...process.env, ...env }) : process.env, stdio: [stdin, 'pipe', 'pipe'] }))
    if (typeof stdin === 'number') closeSync(stdin)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const result = { code, signal, stdout, stderr, ms: performance.now() - started }
      if (code !== 0 && !allowFail) {
        const error = new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${(stderr || stdout).slice(-2000)}`)
        error.result = result
        reject(error)
      } else resolvePromise(result)
    })
  })
}

/** The machine's CPU time counters (/proc/stat, all CPUs), or undefined off Linux. */
function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 }
  } catch {
    return undefined
  }
}

/**
 * The share of CPU time the hypervisor took between two readings: on a shared VM, a run with much
 * stolen time measures the neighbours as much as the servers (ratios hold better than absolute figures).
 */
function stealPercent(start, end) {
  if (!start || !end || end.total <= start.total) return undefined
  return ((end.steal - start.steal) / (end.total - start.total)) * 100
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

/** `dir`, empty: whatever an earlier run left there is removed. */
function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/** A long-running server child: output kept (tail) for diagnostics, stopped with SIGTERM then SIGKILL. */
class Server {
  constructor(name, child) {
    this.name = name
    this.child = track(child)
    this.output = ''
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })))
    this.hasExited = false
    this.exited.then(() => (this.hasExited = true))
    const keep = (d) => {
      this.output = (this.output + d).slice(-20000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }

  get pid() {
    return this.child.pid
  }

  async stop() {
    if (this.hasExited) return
    this.child.kill('SIGTERM')
    const done = await Promise.race([this.exited, sleep(5000).then(() => undefined)])
    if (done === undefined) {
      log(`${this.name} did not stop on SIGTERM within 5 s; killing`)
      this.child.kill('SIGKILL')
      await this.exited
    }
  }

  /** Waits until /v2/ answers on `port` (waitReady), which becomes the server's; resolves to the server. */
  async readyOn(port) {
    this.port = port
    await this.waitReady(port)
    return this
  }

  async waitReady(port, timeoutMs = 20000) {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (this.hasExited) throw new Error(`${this.name} exited while starting:\n${this.output}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    throw new Error(`${this.name} not ready on port ${port} after ${timeoutMs} ms:\n${this.output}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic, incompressible image data (AES-256-CTR keystream with a fixed key).

const KEY = createHash('sha256').update('zreg-bench-fixed-key').digest()
const CHUNK = 4 * MiB
const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
}
const REF_NAME = 'org.opencontainers.image.ref.name'

async function writeRandomBlob(blobsDir, seed, size) {
  const iv = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-256-ctr', KEY, iv)
  const hash = createHash('sha256')
  const temp = join(blobsDir, `.tmp-${process.pid}-${sha256hex(seed).slice(0, 12)}`)
  const handle = await open(temp, 'w')
  const zero = Buffer.alloc(Math.min(CHUNK, size))
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, CHUNK)
      const chunk = cipher.update(n === zero.length ? zero : zero.subarray(0, n))
      hash.update(chunk)
      await handle.write(chunk)
      left -= n
    }
  } finally {
    await handle.close()
  }
  const hex = hash.digest('hex')
  await rename(temp, join(blobsDir, hex))
  return { digest: `sha256:${hex}`, size }
}

function writeBytesBlob(blobsDir, bytes) {
  const hex = sha256hex(bytes)
  const path = join(blobsDir, hex)
  if (!existsSync(path)) writeFileSync(path, bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}

function imageManifest(config, layers) {
  return {
    schemaVersion: 2,
    mediaType: MT.manifest,
    config: { mediaType: MT.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MT.layer, digest: l.digest, size: l.size })),
  }
}

function configJson(layers, labels) {
  return {
    architecture: 'amd64',
    os: 'linux',
    config: labels ? { Labels: labels } : {},
    // Layers are plain (uncompressed) tar media type, so each diff_id is the layer digest.
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  }
}

function writeLayoutSkeleton(dir) {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
}

const IMAGE_SPECS = [
  { key: 'small', ref: 'bench/small:1.0', layers: [4096] },
  { key: 'blob26', ref: 'bench/blob26:1.0', layers: [26 * MiB] },
  { key: 'img50', ref: 'bench/img50:1.0', layers: Array(5).fill(10 * MiB) },
  { key: 'img300', ref: 'bench/img300:1.0', layers: Array(6).fill(50 * MiB) },
  { key: 'blob300', ref: 'bench/blob300:1.0', layers: [300 * MiB] },
]
const DATA_VERSION = 1
const IMAGES_DIR = join(DATA, 'images')
const IMAGES_INFO = join(IMAGES_DIR, 'bench-images.json')

/** Generates (or reuses) the OCI layout with the benchmark images; returns key -> image info. */
async function ensureImages() {
  const wanted = JSON.stringify(IMAGE_SPECS)
  if (existsSync(IMAGES_INFO)) {
    const info = JSON.parse(readFileSync(IMAGES_INFO, 'utf8'))
    if (info.version === DATA_VERSION && info.specs === wanted) {
      log(`images: reusing ${IMAGES_DIR}`)
      return info.images
    }
  }
  log(`images: generating ${IMAGES_DIR} (${(IMAGE_SPECS.reduce((s, i) => s + i.layers.reduce((a, b) => a + b, 0), 0) / MiB).toFixed(0)} MiB)`)
  const started = performance.now()
  rmSync(IMAGES_DIR, { recursive: true, force: true })
  writeLayoutSkeleton(IMAGES_DIR)
  const blobs = join(IMAGES_DIR, 'blobs', 'sha256')
  const images = {}
  const index = { schemaVersion: 2, mediaType: MT.index, manifests: [] }
  for (const spec of IMAGE_SPECS) {
    const layers = []
    for (let i = 0; i < spec.layers.length; i++) layers.push(await writeRandomBlob(blobs, `${spec.ref}#layer${i}`, spec.layers[i]))
    const config = writeBytesBlob(blobs, Buffer.from(JSON.stringify(configJson(layers, { 'bench.image': spec.ref }))))
    const manifestBytes = Buffer.from(JSON.stringify(imageManifest(config, layers)))
    const manifest = writeBytesBlob(blobs, manifestBytes)
    const [repository, tag] = [spec.ref.slice(0, spec.ref.lastIndexOf(':')), spec.ref.slice(spec.ref.lastIndexOf(':') + 1)]
    images[spec.key] = {
      ref: spec.ref,
      repository,
      tag,
      manifest,
      config,
      layers,
      totalBytes: layers.reduce((s, l) => s + l.size, 0) + config.size + manifest.size,
    }
    index.manifests.push({ mediaType: MT.manifest, digest: manifest.digest, size: manifest.size, annotations: { [REF_NAME]: spec.ref } })
  }
  writeFileSync(join(IMAGES_DIR, 'index.json'), JSON.stringify(index, null, 2))
  writeFileSync(IMAGES_INFO, JSON.stringify({ version: DATA_VERSION, specs: wanted, images }, null, 2))
  log(`images: generated in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return images
}

// ---------------------------------------------------------------------------------------------
// The three servers

const ZREG_STORE = join(DATA, 'zreg-store')
const ZREG_SITE = join(DATA, 'zreg-site')

async function ensureZregSite(images) {
  let have = new Map()
  try {
    const index = JSON.parse(readFileSync(join(ZREG_STORE, 'index.json'), 'utf8'))
    have = new Map(index.manifests.map((m) => [m.annotations?.[REF_NAME], m.digest]))
  } catch {
    // no store yet
  }
  const missing = Object.values(images).filter((i) => have.get(i.ref) !== i.manifest.digest)
  if (missing.length > 0) {
    await waitForDist()
    log(`zreg: add oci:${IMAGES_DIR} -> ${ZREG_STORE}`)
    const r = await run(ZREG, ['add', `oci:${IMAGES_DIR}`, '--store', ZREG_STORE], { timeoutMs: 600000 })
    log(`zreg: add took ${(r.ms / 1000).toFixed(1)} s`)
  } else log(`zreg: reusing store ${ZREG_STORE}`)
  await waitForDist()
  const r = await run(ZREG, ['build', '--store', ZREG_STORE, '--out', ZREG_SITE], { timeoutMs: 600000 })
  log(`zreg: ${r.stdout.trim() || r.stderr.trim()}`)
}

/** `npm run build` starts with rm -rf dist: wait for a rebuild in progress rather than fail. */
async function waitForDist() {
  const needed = ['index.js', 'commands/serve.js', 'commands/build.js', 'commands/add.js', 'commands/push.js'].map((f) => join(REPO, 'dist', 'src', f))
  const deadline = performance.now() + 180000
  let warned = false
  while (!needed.every((f) => existsSync(f))) {
    if (performance.now() > deadline) throw new Error('dist/ is missing: run npm run build')
    if (!warned) log('dist/ is incomplete (a build in progress?); waiting for it')
    warned = true
    await sleep(1000)
  }
  if (warned) await sleep(2000)
}

function startZreg(site = ZREG_SITE) {
  return startZregProcess('zreg serve', ['serve', site, '--port', '0', '--no-access-log'])
}

/** zreg push mode (dev registry) on a store and tree of its own. */
function startZregPush(store, out) {
  return startZregProcess('zreg push', ['push', '--store', store, '--out', out, '--port', '0', '--no-access-log'])
}

/** Starts `bin/run.js ARGS...` (serve or push) as a user would, which reports `(port N)` on stderr; waits until /v2/ answers. */
async function startZregProcess(name, args) {
  await waitForDist()
  const child = spawn(ZREG, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  const server = new Server(name, child)
  const port = await new Promise((resolvePort, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not report its port:\n${text}`)), 20000)
    const onData = (d) => {
      text += d
      const m = /\(port (\d+)\)/.exec(text)
      if (m) {
        clearTimeout(timer)
        child.stderr.off('data', onData)
        resolvePort(Number(m[1]))
      }
    }
    child.stderr.on('data', onData)
    server.exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`${name} exited while starting:\n${text}`))
    })
  })
  return server.readyOn(port)
}

const NGINX_PREFIX = join(DATA, 'nginx')

async function startNginx(site = ZREG_SITE) {
  const port = await freePort()
  const p = NGINX_PREFIX
  rmSync(p, { recursive: true, force: true })
  for (const dir of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) mkdirSync(join(p, dir), { recursive: true })
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  // The configuration users get: zreg server-config --for nginx, included from a wrapper for the bench's paths.
  await run(ZREG, ['server-config', '--for', 'nginx', '--out', site, '--output', join(p, 'zreg')])
  const conf = `# written by bench/run.mjs
daemon off;
worker_processes auto;
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
${user}events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${p}/body;
  proxy_temp_path ${p}/proxy;
  fastcgi_temp_path ${p}/fcgi;
  uwsgi_temp_path ${p}/uwsgi;
  scgi_temp_path ${p}/scgi;
  include ${p}/zreg/nginx-http.conf;
  server {
    listen 127.0.0.1:${port};
    include ${p}/zreg/nginx-locations.conf;
  }
}
`
  writeFileSync(join(p, 'nginx.conf'), conf)
  const test = await run('nginx', ['-t', '-p', p, '-c', join(p, 'nginx.conf'), '-e', join(p, 'error.log')], { allowFail: true })
  if (test.code !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`)
  const child = spawn('nginx', ['-p', p, '-c', join(p, 'nginx.conf'), '-e', join(p, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('nginx', child).readyOn(port)
}

/** Caddy 2 with the Caddyfile `zreg server-config --for caddy` writes, its admin endpoint and state in its own directory. */
async function startCaddy(site = ZREG_SITE) {
  const port = await freePort()
  const dir = join(DATA, 'caddy')
  freshDir(dir)
  await run(ZREG, ['server-config', '--for', 'caddy', '--out', site, '--listen', `127.0.0.1:${port}`, '--output', join(dir, 'zreg')])
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), ZREG_CADDY_ADMIN: `127.0.0.1:${await freePort()}` }
  const child = spawn('caddy', ['run', '--config', join(dir, 'zreg', 'Caddyfile'), '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('caddy', child).readyOn(port)
}

/**
 * Apache 2.4 (Debian's, event MPM, as many threads as wrk has connections) with the vhost include
 * `zreg server-config --for apache` writes, as a foreground process with its own main configuration.
 */
async function startApache(site = ZREG_SITE) {
  const port = await freePort()
  const dir = join(DATA, 'apache')
  freshDir(dir)
  await run(ZREG, ['server-config', '--for', 'apache', '--out', site, '--output', join(dir, 'zreg')])
  const modules = ['mpm_event', 'authz_core', 'mime', 'headers', 'rewrite', 'setenvif', 'dir']
  // Apache will not run its workers as root: they read the tree as nobody, as a web server's user would.
  const user = process.getuid?.() === 0 ? 'User nobody\nGroup nogroup\n' : ''
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
${modules.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`).join('\n')}
${user}TypesConfig /etc/mime.types
StartServers 2
ServerLimit 2
ThreadsPerChild 64
MaxRequestWorkers 128
KeepAliveTimeout 30
MaxKeepAliveRequests 0
EnableSendfile On
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Include ${join(dir, 'zreg', 'zreg-apache.conf')}
`,
  )
  const child = spawn('apache2', ['-DFOREGROUND', '-f', join(dir, 'httpd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('apache', child).readyOn(port)
}

const DIST_ROOT = join(DATA, 'distribution')
const DIST_MARKER = join(DATA, 'distribution-loaded.json')

async function startDistribution(root = DIST_ROOT, cfg = join(DATA, 'distribution.yml')) {
  const port = await freePort()
  mkdirSync(root, { recursive: true })
  // As the packaged default config (/etc/docker/registry/config.yml), minus auth: in-memory blob descriptor cache.
  writeFileSync(
    cfg,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${root}
http:
  addr: 127.0.0.1:${port}
`,
  )
  const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('distribution', child).readyOn(port)
}

const DIST_KEYS = ['small', 'blob26', 'img50', 'img300']
const distMarkerText = (images) => JSON.stringify({ method: 'skopeo --preserve-digests', digests: DIST_KEYS.map((k) => images[k].manifest.digest) })

/** Wipes distribution's storage unless it holds exactly the current images (call before starting it). */
function checkDistributionStorage(images) {
  if (existsSync(DIST_MARKER) && readFileSync(DIST_MARKER, 'utf8') === distMarkerText(images)) return true
  rmSync(DIST_MARKER, { force: true })
  rmSync(DIST_ROOT, { recursive: true, force: true })
  return false
}

async function loadDistribution(server, images) {
  log('distribution: loading images with skopeo copy --preserve-digests')
  for (const key of DIST_KEYS) {
    const image = images[key]
    // --preserve-digests: without it skopeo gzips the uncompressed layers on the way to a registry.
    const r = await run(
      'skopeo',
      ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${IMAGES_DIR}:${image.ref}`, `docker://127.0.0.1:${server.port}/${image.ref}`],
      { timeoutMs: 600000 },
    )
    log(`distribution: pushed ${image.ref} in ${(r.ms / 1000).toFixed(1)} s`)
  }
  writeFileSync(DIST_MARKER, distMarkerText(images))
}

/** Checks a server answers the manifest and blob the benchmarks fetch, with the right bytes and headers. */
async function verifyServer(server, images, issues) {
  const base = `http://127.0.0.1:${server.port}`
  const small = images.small
  const response = await fetch(`${base}/v2/${small.repository}/manifests/${small.tag}`, { headers: { Accept: MT.manifest } })
  const body = Buffer.from(await response.arrayBuffer())
  const problems = []
  if (response.status !== 200) problems.push(`manifest GET status ${response.status}`)
  else {
    const digest = `sha256:${sha256hex(body)}`
    if (digest !== small.manifest.digest) problems.push(`manifest bytes differ (${digest}, expected ${small.manifest.digest})`)
    if (response.headers.get('docker-content-digest') !== digest) problems.push(`Docker-Content-Digest ${response.headers.get('docker-content-digest')}`)
    if (response.headers.get('content-type') !== MT.manifest) problems.push(`manifest Content-Type ${response.headers.get('content-type')}`)
  }
  const blob = images.blob26.layers[0]
  const head = await fetch(`${base}/v2/${images.blob26.repository}/blobs/${blob.digest}`, { method: 'HEAD' })
  if (head.status !== 200) problems.push(`blob HEAD status ${head.status}`)
  else if (Number(head.headers.get('content-length')) !== blob.size) problems.push(`blob Content-Length ${head.headers.get('content-length')}`)
  for (const p of problems) issues.push(`${server.name}: ${p}`)
  if (problems.length) log(`verify ${server.name}: ${problems.join('; ')}`)
  else log(`verify ${server.name}: ok (port ${server.port})`)
  return problems.length === 0
}

// ---------------------------------------------------------------------------------------------
// Measurement tools

const WRK_LUA = join(DATA, 'wrk-report.lua')
function writeWrkScript() {
  writeFileSync(
    WRK_LUA,
    `-- written by bench/run.mjs: machine-readable summary
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('ZREG_BENCH {"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`,
  )
}

async function wrk(url, { connections, seconds, headers = [] }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', WRK_LUA]
  for (const h of headers) args.push('-H', h)
  args.push(url)
  const r = await run('wrk', args, { timeoutMs: (seconds + 60) * 1000 })
  const line = r.stdout.split('\n').find((l) => l.startsWith('ZREG_BENCH '))
  if (!line) throw new Error(`wrk printed no summary:\n${r.stdout}\n${r.stderr}`)
  const s = JSON.parse(line.slice('ZREG_BENCH '.length))
  const durationS = s.duration_us / 1e6
  const errors = s.connect + s.read + s.write + s.status + s.timeout
  return {
    requests: s.requests,
    bytes: s.bytes,
    durationS,
    rps: s.requests / durationS,
    MBps: s.bytes / durationS / 1e6,
    errors,
    errorDetail: { connect: s.connect, read: s.read, write: s.write, status: s.status, timeout: s.timeout },
    p50ms: s.p50_us / 1000,
    p99ms: s.p99_us / 1000,
  }
}

/** Samples VmRSS of a process every intervalMs; stop() returns the maximum and VmHWM. */
function rssSampler(pid, intervalMs = 100) {
  let maxKiB = 0
  let samples = 0
  let hwmKiB = 0
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const rss = /VmRSS:\s+(\d+) kB/.exec(status)
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
      if (rss) {
        maxKiB = Math.max(maxKiB, Number(rss[1]))
        samples++
      }
      if (hwm) hwmKiB = Number(hwm[1])
    } catch {
      // process gone
    }
  }
  read()
  const timer = setInterval(read, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      read()
      return { maxMB: (maxKiB * 1024) / 1e6, hwmMB: (hwmKiB * 1024) / 1e6, samples }
    },
  }
}

function rssNowMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN
}

// ---------------------------------------------------------------------------------------------
// (a) server-bound: wrk

/**
 * (a) against zreg serve, nginx and distribution (targets), then Caddy and Apache with the
 * configurations zreg server-config writes (info rows: users choose their server with these), each
 * started only for its turn.
 */
async function benchServerBound(servers, images, results, rows, issues) {
  const small = images.small
  const blob = images.blob26.layers[0]
  const a = { manifest: {}, blob: {} }
  // zreg serve runs a worker per core by default; one worker shows what the workers add.
  const oneWorker = () => startZregProcess('zreg serve, 1 worker', ['serve', ZREG_SITE, '--port', '0', '--no-access-log', '--workers', '1'])
  const hosts = [...servers.map((server) => async () => server), oneWorker, startCaddy, startApache]
  for (const start of hosts) {
    const server = await start()
    if (!servers.includes(server)) await verifyServer(server, images, issues)
    const base = `http://127.0.0.1:${server.port}`
    const manifestUrl = `${base}/v2/${small.repository}/manifests/${small.tag}`
    const headers = [`Accept: ${MT.manifest}`]
    await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkWarmupSeconds, headers })
    const sampler = server.name === 'zreg serve' ? rssSampler(server.pid) : undefined
    const m = await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds, headers })
    if (sampler) m.rssMaxMB = sampler.stop().maxMB
    a.manifest[server.name] = m
    log(`(a) ${server.name}: manifest ${m.rps.toFixed(0)} req/s, p50 ${m.p50ms.toFixed(2)} ms, p99 ${m.p99ms.toFixed(2)} ms, errors ${m.errors}`)

    const blobUrl = `${base}/v2/${images.blob26.repository}/blobs/${blob.digest}`
    await wrk(blobUrl, { connections: settings.blobConnections, seconds: settings.wrkWarmupSeconds })
    const sampler2 = server.name === 'zreg serve' ? rssSampler(server.pid) : undefined
    const b = await wrk(blobUrl, { connections: settings.blobConnections, seconds: settings.wrkSeconds })
    if (sampler2) b.rssMaxMB = sampler2.stop().maxMB
    a.blob[server.name] = b
    log(`(a) ${server.name}: blob ${b.MBps.toFixed(0)} MB/s (${b.requests} x 26 MiB responses, ${b.rps.toFixed(1)} req/s), errors ${b.errors}`)
    if (!servers.includes(server)) await server.stop()
  }
  results.serverBound = a
  const val = (kind, name) => a[kind][name]
  const valid = (kind, name) => val(kind, name) !== undefined && val(kind, name).errors === 0
  const z = 'zreg serve'
  rows.push(
    row('(a) manifest GET req/s (c64), vs distribution', {
      zreg: val('manifest', z)?.rps,
      nginx: val('manifest', 'nginx')?.rps,
      distribution: val('manifest', 'distribution')?.rps,
      ratio: ratioOf(val('manifest', z)?.rps, val('manifest', 'distribution')?.rps),
      target: '>= 8x distribution',
      pass: (r) => r >= 8,
      valid: valid('manifest', z) && valid('manifest', 'distribution'),
      unit: 'req/s',
    }),
    row('(a) manifest GET req/s (c64), vs nginx', {
      zreg: val('manifest', z)?.rps,
      nginx: val('manifest', 'nginx')?.rps,
      distribution: val('manifest', 'distribution')?.rps,
      ratio: ratioOf(val('manifest', z)?.rps, val('manifest', 'nginx')?.rps),
      target: '>= 0.8x nginx',
      pass: (r) => r >= 0.8,
      valid: valid('manifest', z) && valid('manifest', 'nginx'),
      unit: 'req/s',
    }),
    row('(a) 26 MiB blob GET MB/s (c8), vs nginx', {
      zreg: val('blob', z)?.MBps,
      nginx: val('blob', 'nginx')?.MBps,
      distribution: val('blob', 'distribution')?.MBps,
      ratio: ratioOf(val('blob', z)?.MBps, val('blob', 'nginx')?.MBps),
      target: '>= 0.95x nginx',
      pass: (r) => r >= 0.95,
      valid: valid('blob', z) && valid('blob', 'nginx'),
      unit: 'MB/s',
    }),
  )
  rows.push(
    row('(a) zreg serve with 1 worker: manifest GET req/s (c64)', { zreg: val('manifest', 'zreg serve, 1 worker')?.rps, nginx: val('manifest', 'nginx')?.rps, ratio: ratioOf(val('manifest', 'zreg serve, 1 worker')?.rps, val('manifest', 'nginx')?.rps), ratioNote: '1 worker/nginx', target: 'info', valid: true, unit: 'req/s', note: `the default runs a worker per core (${cpus().length} here)` }),
  )
  for (const [name, label] of [['caddy', 'Caddy 2'], ['apache', 'Apache 2.4']]) {
    const info = { nginx: undefined, target: 'info', valid: true, note: `the zreg column is ${label} with the configuration of zreg server-config --for ${name}` }
    rows.push(
      row(`(a) ${label}: manifest GET req/s (c64)`, { ...info, zreg: val('manifest', name)?.rps, nginx: val('manifest', 'nginx')?.rps, ratio: ratioOf(val('manifest', name)?.rps, val('manifest', 'nginx')?.rps), ratioNote: `${name}/nginx`, unit: 'req/s' }),
      row(`(a) ${label}: 26 MiB blob GET MB/s (c8)`, { ...info, zreg: val('blob', name)?.MBps, nginx: val('blob', 'nginx')?.MBps, ratio: ratioOf(val('blob', name)?.MBps, val('blob', 'nginx')?.MBps), ratioNote: `${name}/nginx`, unit: 'MB/s' }),
    )
  }
}

// ---------------------------------------------------------------------------------------------
// (i) precomputed redirects

/**
 * (i) The bench's tree built again with every blob redirected to a CDN (zreg build --redirect): manifest
 * GETs through zreg serve and nginx with the redirect rules against the same without (the rules add a
 * map entry per blob: manifests must not get slower), and the redirected blob GET's latency at one
 * connection (the server's own time, not queueing) and its rate at 64.
 */
async function benchRedirects(images, results, rows, issues) {
  const redirected = join(DATA, 'zreg-site-redirected')
  const cdn = 'https://cdn.example.com/blobs/{algorithm}/{hex}'
  const built = await run(ZREG, ['build', '--store', ZREG_STORE, '--out', redirected, '--redirect', `**=${cdn}`], { timeoutMs: 600000 })
  log(`(i) ${built.stdout.trim()}`)
  const small = images.small
  const blob = images.blob26.layers[0]
  const out = {}
  for (const [name, start] of [['zreg serve', startZreg], ['nginx', startNginx]]) {
    out[name] = {}
    for (const [variant, tree] of [['plain', ZREG_SITE], ['redirected', redirected]]) {
      const server = await start(tree)
      try {
        const base = `http://127.0.0.1:${server.port}`
        const manifestUrl = `${base}/v2/${small.repository}/manifests/${small.tag}`
        const headers = [`Accept: ${MT.manifest}`]
        await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkWarmupSeconds, headers })
        const manifest = await wrk(manifestUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds, headers })
        out[name][variant] = { manifest }
        log(`(i) ${name}, ${variant}: manifest ${manifest.rps.toFixed(0)} req/s, p99 ${manifest.p99ms.toFixed(2)} ms, errors ${manifest.errors}`)
        if (variant !== 'redirected') continue
        const blobUrl = `${base}/v2/${images.blob26.repository}/blobs/${blob.digest}`
        const answer = await fetch(blobUrl, { redirect: 'manual' })
        const expected = cdn.replace('{algorithm}', 'sha256').replace('{hex}', blob.digest.slice(7))
        if (answer.status !== 307 || answer.headers.get('location') !== expected) issues.push(`(i) ${name}: a redirected blob answered ${answer.status} ${answer.headers.get('location')}`)
        await wrk(blobUrl, { connections: 1, seconds: settings.wrkWarmupSeconds })
        const one = await wrk(blobUrl, { connections: 1, seconds: settings.wrkSeconds })
        const many = await wrk(blobUrl, { connections: settings.manifestConnections, seconds: settings.wrkSeconds })
        Object.assign(out[name][variant], { blobOne: one, blobMany: many })
        log(`(i) ${name}: redirected blob p50 ${one.p50ms.toFixed(3)} ms, p99 ${one.p99ms.toFixed(3)} ms (c1); ${many.rps.toFixed(0)} req/s (c${settings.manifestConnections})`)
      } finally {
        await server.stop()
      }
    }
  }
  results.redirects = out
  const ok = (...runs) => runs.every((r) => r !== undefined && r.errors === 0)
  for (const name of ['zreg serve', 'nginx']) {
    const { plain, redirected: withRules } = out[name]
    const column = name === 'nginx' ? 'nginx' : 'zreg'
    rows.push(
      row(`(i) ${name}: manifest GET req/s (c64), redirect rules vs none`, {
        [column]: withRules.manifest.rps,
        ratio: ratioOf(withRules.manifest.rps, plain.manifest.rps),
        ratioNote: 'rules/none',
        target: '>= 0.9x (not slower)',
        pass: (r) => r >= 0.9,
        valid: ok(plain.manifest, withRules.manifest),
        unit: 'req/s',
      }),
      row(`(i) ${name}: redirected blob GET p99 ms (c1)`, { [column]: withRules.blobOne.p99ms, subject: withRules.blobOne.p99ms, target: '< 1 ms', pass: (v) => v < 1, valid: ok(withRules.blobOne), unit: 'ms', digits: 3 }),
      row(`(i) ${name}: redirected blob GET req/s (c64)`, { [column]: withRules.blobMany.rps, target: 'info', valid: ok(withRules.blobMany), unit: 'req/s' }),
    )
  }
}

// ---------------------------------------------------------------------------------------------
// (b) client-bound: skopeo pulls

async function skopeoPull(server, image, dest) {
  rmSync(dest, { recursive: true, force: true })
  const r = await run(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://127.0.0.1:${server.port}/${image.ref}`, `dir:${dest}`],
    { timeoutMs: 600000 },
  )
  const manifest = readFileSync(join(dest, 'manifest.json'))
  const digest = `sha256:${sha256hex(manifest)}`
  const ok = digest === image.manifest.digest
  rmSync(dest, { recursive: true, force: true })
  return { seconds: r.ms / 1000, ok, digest }
}

async function benchPulls(servers, images, results, rows, issues) {
  const dest = join(DATA, 'pull')
  const b = {}
  for (const key of ['img50', 'img300']) {
    const image = images[key]
    b[key] = {}
    for (const server of servers) b[key][server.name] = []
    for (let round = 0; round < settings.pullRounds[key]; round++) {
      // Rotate the order each round so no server always goes first (cold caches) or last.
      const order = servers.map((_, i) => servers[(i + round) % servers.length])
      for (const server of order) {
        const p = await skopeoPull(server, image, dest)
        if (!p.ok) issues.push(`${server.name}: pulled ${image.ref} has manifest ${p.digest}, expected ${image.manifest.digest}`)
        b[key][server.name].push(p.seconds)
        log(`(b) ${server.name}: pull ${image.ref} ${p.seconds.toFixed(2)} s${p.ok ? '' : ' (WRONG MANIFEST)'}`)
      }
    }
  }
  results.pulls = {}
  for (const key of ['img50', 'img300']) {
    results.pulls[key] = {}
    for (const [name, times] of Object.entries(b[key])) results.pulls[key][name] = { times, median: median(times) }
    const med = (name) => results.pulls[key][name]?.median
    const label = key === 'img50' ? '50 MiB (5 x 10 MiB)' : '300 MiB (6 x 50 MiB)'
    rows.push(
      row(`(b) skopeo pull ${label}, s (median of ${settings.pullRounds[key]})`, {
        zreg: med('zreg serve'),
        nginx: med('nginx'),
        distribution: med('distribution'),
        ratio: ratioOf(med('distribution'), med('zreg serve')),
        ratioNote: 'dist/zreg',
        target: '>= 1.0 (dist time / zreg time)',
        pass: (r) => r >= 1.0,
        valid: true,
        unit: 's',
        digits: 2,
      }),
    )
  }
}

// ---------------------------------------------------------------------------------------------
// (c) memory under concurrent large downloads

async function benchMemory(images, results, rows, issues) {
  const blob = images.blob300.layers[0]
  // Each scenario gets a fresh `zreg serve`, so one scenario's garbage does not count against the next.
  const scenario = async (name, extraCurlArgs, acceptTimeout) => {
    const server = await startZreg()
    try {
      const url = `http://127.0.0.1:${server.port}/v2/${images.blob300.repository}/blobs/${blob.digest}`
      await sleep(300)
      const idleMB = rssNowMB(server.pid)
      const sampler = rssSampler(server.pid)
      const started = performance.now()
      const clients = await Promise.all(
        Array.from({ length: settings.memoryClients }, () =>
          run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...extraCurlArgs, url], { allowFail: true, timeoutMs: 600000 }),
        ),
      )
      const seconds = (performance.now() - started) / 1000
      const rss = sampler.stop()
      const bytes = clients.reduce((sum, r) => sum + (Number(r.stdout.split(' ')[1]) || 0), 0)
      const complete = clients.filter((r) => r.code === 0 && r.stdout === `200 ${blob.size}`).length
      const bad = clients.filter((r) => !(r.code === 0 || (acceptTimeout && r.code === 28)) || !r.stdout.startsWith('200 '))
      if (bad.length) issues.push(`zreg serve (${name}): ${bad.length} of ${clients.length} downloads failed: ${bad.map((r) => `curl ${r.code} ${r.stdout}`).join(', ')}`)
      const out = { clients: clients.length, seconds, MBps: bytes / seconds / 1e6, complete, idleMB, maxRssMB: rss.maxMB, vmHwmMB: rss.hwmMB, samples: rss.samples, ok: bad.length === 0 }
      log(`(c) ${name}: ${complete}/${clients.length} complete, ${out.MBps.toFixed(0)} MB/s total over ${seconds.toFixed(1)} s; RSS idle ${idleMB.toFixed(1)} MB, max ${rss.maxMB.toFixed(1)} MB (${rss.samples} samples), VmHWM ${rss.hwmMB.toFixed(1)} MB`)
      return out
    } finally {
      await server.stop()
    }
  }
  const fast = await scenario('fast clients', [], false)
  // Slow clients: a server that ignores back-pressure would buffer the blob in memory for them.
  const slow = await scenario(`slow clients (${settings.memorySlowRate}B/s each, ${settings.memorySlowSeconds} s)`, ['--limit-rate', settings.memorySlowRate, '--max-time', String(settings.memorySlowSeconds)], true)
  results.memory = { blobBytes: blob.size, fast, slow: { ...slow, rate: settings.memorySlowRate } }
  const maxMB = Math.max(fast.maxRssMB, slow.maxRssMB)
  rows.push(
    row(`(c) zreg serve max RSS, 8 clients x 300 MiB blob (MB)`, {
      zreg: maxMB,
      target: '< 150 MB',
      pass: () => maxMB < 150,
      valid: fast.ok && slow.ok && fast.complete === fast.clients,
      unit: 'MB',
      digits: 1,
      note: `fast clients ${fast.maxRssMB.toFixed(1)} MB (idle ${fast.idleMB.toFixed(1)}), rate-limited clients ${slow.maxRssMB.toFixed(1)} MB (idle ${slow.idleMB.toFixed(1)})`,
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// (d) build scale, in-process through the library

// 2: each index.json entry records its platform, as zreg add does since the catalog page.
const SCALE_VERSION = 2

/** A store of repositories x tags, each tag its own manifest and config, sharing two layers of layerBytes. */
async function ensureScaleStore(repositories, tagsPerRepository, layerBytes) {
  const name = `scale-${repositories}x${tagsPerRepository}-${layerBytes}`
  const dir = join(DATA, name)
  const info = join(DATA, `${name}.json`)
  if (existsSync(info)) {
    const meta = JSON.parse(readFileSync(info, 'utf8'))
    if (meta.version === SCALE_VERSION) {
      writeFileSync(join(dir, 'index.json'), meta.indexText)
      log(`(d) reusing store ${name}`)
      return { dir, meta }
    }
  }
  log(`(d) generating store ${name} (${repositories * tagsPerRepository} tags)`)
  const started = performance.now()
  rmSync(dir, { recursive: true, force: true })
  rmSync(info, { force: true })
  writeLayoutSkeleton(dir)
  const blobs = join(dir, 'blobs', 'sha256')
  const layers = [await writeRandomBlob(blobs, `scale-${layerBytes}-a`, layerBytes), await writeRandomBlob(blobs, `scale-${layerBytes}-b`, layerBytes)]
  const manifests = []
  for (let r = 0; r < repositories; r++) {
    const repository = `scale/r${String(r).padStart(4, '0')}`
    for (let t = 0; t < tagsPerRepository; t++) {
      const tag = `t${String(t).padStart(2, '0')}`
      const config = writeBytesBlob(blobs, Buffer.from(JSON.stringify(configJson(layers, { 'bench.scale': `${repository}:${tag}` }))))
      const manifest = writeBytesBlob(blobs, Buffer.from(JSON.stringify(imageManifest(config, layers))))
      manifests.push({ mediaType: MT.manifest, digest: manifest.digest, size: manifest.size, platform: { architecture: 'amd64', os: 'linux' }, annotations: { [REF_NAME]: `${repository}:${tag}` } })
    }
  }
  const indexText = JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests })
  writeFileSync(join(dir, 'index.json'), indexText)
  const meta = { version: SCALE_VERSION, repositories, tagsPerRepository, layerBytes, indexText }
  writeFileSync(info, JSON.stringify(meta))
  log(`(d) generated ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { dir, meta }
}

function siteDirs(out) {
  return [out, join(dirname(out), `.${out.split('/').pop()}.builds`)]
}

/** Points `repository:t00` at the manifest of `repository:t01` (an existing manifest), atomically. */
function retagOne(storeDir, index, r) {
  const repository = `scale/r${String(r).padStart(4, '0')}`
  const from = index.manifests.find((m) => m.annotations[REF_NAME] === `${repository}:t00`)
  const to = index.manifests.find((m) => m.annotations[REF_NAME] === `${repository}:t01`)
  from.digest = to.digest
  from.size = to.size
  const temp = join(storeDir, `index.json.bench-${process.pid}`)
  writeFileSync(temp, JSON.stringify(index))
  renameSync(temp, join(storeDir, 'index.json'))
}

async function benchBuildScale(results, rows, issues) {
  await waitForDist()
  const lib = await import(pathToFileURL(join(REPO, 'dist', 'src', 'index.js')).href).catch((error) => {
    throw new Error(`cannot import dist/src/index.js (run npm run build first): ${error.message}`)
  })
  const { LayoutStore, buildSite } = lib
  const R = settings.scaleRepositories
  const T = settings.scaleTagsPerRepository
  const tags = R * T
  const small = await ensureScaleStore(R, T, settings.scaleSmallLayerBytes)
  const big = await ensureScaleStore(R, T, settings.scaleBigLayerBytes)

  // Each full build on the disk writes a directory of its own; all are removed at the end. Removing a
  // 10,000-tag tree right before a timed build slowed that build down by up to 2x here, flushed or not.
  const outs = []
  const freshOut = (name) => {
    const out = join(DATA, `${name}-${outs.length}`)
    outs.push(out)
    return out
  }
  const buildFromScratch = async (storeDir, out) => {
    for (const d of siteDirs(out)) rmSync(d, { recursive: true, force: true })
    // Flush what came before: its write-back is not part of the build being timed.
    await flushDisk()
    const started = performance.now()
    const store = await LayoutStore.open(storeDir)
    const result = await buildSite(store, { out })
    const ms = performance.now() - started
    if (result.tags !== tags) issues.push(`build of ${storeDir}: ${result.tags} tags, expected ${tags}`)
    if (result.repositoriesWritten !== R) issues.push(`build of ${storeDir}: wrote ${result.repositoriesWritten} repositories, expected ${R}`)
    return { ms, result }
  }

  let smallOut = freshOut('scale-site-small')
  const d = {}
  try {
    // Not timed: the first build in a process pays for JIT warm-up (timed apart, in a new process, below).
    await buildFromScratch(small.dir, smallOut)
    // Then alternate the 1 KiB-layer and 20 MiB-layer stores (same shape) so both see the same conditions.
    const smallTimes = []
    const bigTimes = []
    for (let i = 0; i < settings.fullBuildRuns; i++) {
      smallOut = freshOut('scale-site-small')
      smallTimes.push((await buildFromScratch(small.dir, smallOut)).ms)
      bigTimes.push((await buildFromScratch(big.dir, freshOut('scale-site-big'))).ms)
    }
    d.fullSmall = { times: smallTimes, median: median(smallTimes) }
    d.fullBig = { times: bigTimes, median: median(bigTimes) }
    log(`(d) full build, ${tags} tags, warm: 1 KiB layers ${smallTimes.map((t) => t.toFixed(0)).join(', ')} ms; 20 MiB layers ${bigTimes.map((t) => t.toFixed(0)).join(', ')} ms`)

    // One tag changes; a fresh store object and no manifest cache, as a new `zreg build` process would do.
    const index = JSON.parse(small.meta.indexText)
    let r = 0
    const rebuild = []
    for (let i = 0; i < settings.rebuildRuns; i++) {
      retagOne(small.dir, index, r++)
      // As for full builds: the previous build's clean-up write-back is not part of this one.
      await flushDisk()
      const started = performance.now()
      const store = await LayoutStore.open(small.dir)
      const result = await buildSite(store, { out: smallOut })
      rebuild.push(performance.now() - started)
      if (result.repositoriesWritten !== 1) issues.push(`one-tag rebuild wrote ${result.repositoriesWritten} repositories, expected 1`)
    }
    d.rebuild = { times: rebuild, median: median(rebuild) }
    log(`(d) one-tag rebuild: ${rebuild.map((t) => t.toFixed(0)).join(', ')} ms`)

    // How slow this disk is right now: builds are bound by metadata operations, whose cost varies here.
    d.metadataOpsMs = calibrateMetadataOps(DATA)
    log(`(d) calibration: 5,000 mkdir/symlink on this disk: ${d.metadataOpsMs.toFixed(0)} ms`)
    // zreg's own cost, without the disk: the same store and build on tmpfs.
    if (existsSync('/dev/shm')) {
      const shm = join('/dev/shm', `zreg-bench-${process.pid}`)
      try {
        rmSync(shm, { recursive: true, force: true })
        mkdirSync(shm, { recursive: true })
        cpSync(small.dir, join(shm, 'store'), { recursive: true, preserveTimestamps: true })
        writeFileSync(join(shm, 'store', 'index.json'), small.meta.indexText)
        const full = await buildFromScratch(join(shm, 'store'), join(shm, 'site'))
        // Its own copy of the index: the disk's store goes on from where its rebuilds left it.
        const shmIndex = JSON.parse(small.meta.indexText)
        const tmpfsRebuild = []
        for (let i = 0; i < settings.rebuildRuns; i++) {
          retagOne(join(shm, 'store'), shmIndex, i)
          const started = performance.now()
          await buildSite(await LayoutStore.open(join(shm, 'store')), { out: join(shm, 'site') })
          tmpfsRebuild.push(performance.now() - started)
        }
        d.tmpfs = { fullMs: full.ms, rebuild: { times: tmpfsRebuild, median: median(tmpfsRebuild) } }
        log(`(d) on tmpfs: full ${full.ms.toFixed(0)} ms, one-tag ${tmpfsRebuild.map((t) => t.toFixed(0)).join(', ')} ms`)
      } finally {
        rmSync(shm, { recursive: true, force: true })
      }
    }
    // The first build in a new process (JIT warm-up included, module loading not, as for the other rows),
    // as `zreg build` makes it. After the in-process rows: starting a process charges the builds after it
    // in this one for fork's copy-on-write (see flushDisk).
    const coldOut = freshOut('scale-site-small')
    await flushDisk()
    const script = `const { LayoutStore, buildSite } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'src', 'index.js')).href)})
const started = performance.now()
const result = await buildSite(await LayoutStore.open(${JSON.stringify(small.dir)}), { out: ${JSON.stringify(coldOut)} })
console.log(JSON.stringify({ ms: performance.now() - started, tags: result.tags, written: result.repositoriesWritten }))`
    const cold = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 600000 })).stdout)
    if (cold.tags !== tags || cold.written !== R) issues.push(`first build in a new process: ${cold.tags} tags, ${cold.written} repositories written`)
    d.fullCold = { ms: cold.ms }
    log(`(d) full build, ${tags} tags, 1 KiB layers, first in a new process: ${cold.ms.toFixed(0)} ms`)
    // The CLI, process start included.
    retagOne(small.dir, index, r++)
    await waitForDist()
    const cli = await run(ZREG, ['build', '--store', small.dir, '--out', smallOut], { timeoutMs: 600000 })
    const reported = /in (\d+) ms/.exec(cli.stdout)
    d.cli = { wallMs: cli.ms, reportedMs: reported ? Number(reported[1]) : undefined, output: cli.stdout.trim() }
    log(`(d) CLI one-tag rebuild: wall ${cli.ms.toFixed(0)} ms; ${cli.stdout.trim()}`)
  } finally {
    writeFileSync(join(small.dir, 'index.json'), small.meta.indexText)
    for (const out of outs) for (const dir of siteDirs(out)) rmSync(dir, { recursive: true, force: true })
  }
  results.buildScale = { repositories: R, tagsPerRepository: T, tags, ...d }
  const scale = `${tags.toLocaleString('en-US')} tags / ${R.toLocaleString('en-US')} repos`
  rows.push(
    row(`(d) full build, ${scale}, first in a new process (ms)`, { zreg: d.fullCold.ms, target: '<= 2000 ms', pass: () => d.fullCold.ms <= 2000, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) full build, ${scale}, warm, median of ${settings.fullBuildRuns} (ms)`, { zreg: d.fullSmall.median, target: '<= 2000 ms', pass: () => d.fullSmall.median <= 2000, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) one-tag rebuild, in-process (ms)`, { zreg: d.rebuild.median, target: '<= 100 ms', pass: () => d.rebuild.median <= 100, valid: true, unit: 'ms', digits: 0 }),
    row(`(d) one-tag rebuild, zreg build CLI wall (ms)`, { zreg: d.cli.wallMs, target: 'info', valid: true, unit: 'ms', digits: 0, note: d.cli.reportedMs !== undefined ? `build itself ${d.cli.reportedMs} ms` : undefined }),
    row(`(d) calibration: 5,000 mkdir/symlink on this disk (ms)`, { zreg: d.metadataOpsMs, target: 'info (tmpfs: ~30)', valid: true, unit: 'ms', digits: 0 }),
    ...(d.tmpfs
      ? [
          row(`(d) full build on tmpfs, ${scale} (ms)`, { zreg: d.tmpfs.fullMs, target: 'info', valid: true, unit: 'ms', digits: 0 }),
          row(`(d) one-tag rebuild on tmpfs (ms)`, { zreg: d.tmpfs.rebuild.median, target: 'info', valid: true, unit: 'ms', digits: 0 }),
        ]
      : []),
    row(`(d) full build, 20 MiB vs 1 KiB layers, warm (ms)`, {
      zreg: d.fullBig.median,
      ratio: ratioOf(d.fullBig.median, d.fullSmall.median),
      ratioNote: '20MiB/1KiB',
      target: '~1 (0.75..1.33)',
      pass: (x) => x >= 0.75 && x <= 1.33,
      valid: true,
      unit: 'ms',
      digits: 0,
    }),
  )
}

/** Times 5,000 metadata operations (1,000 directories with 4 links each) in `dir`'s file system. */
function calibrateMetadataOps(dir) {
  const base = join(dir, `calibrate-${process.pid}`)
  rmSync(base, { recursive: true, force: true })
  mkdirSync(base)
  const started = performance.now()
  for (let i = 0; i < 1000; i++) {
    const sub = join(base, `r${i}`)
    mkdirSync(sub)
    for (const part of ['a', 'b', 'c', 'd']) symlinkSync(`../x/${part}`, join(sub, part))
  }
  const ms = performance.now() - started
  rmSync(base, { recursive: true, force: true })
  return ms
}

// ---------------------------------------------------------------------------------------------
// (e) push: uploads into zreg push mode and distribution

const PUSH_DIR = join(DATA, 'push')
const UPLOAD_REPOSITORY = 'bench/up'

/** The two push targets; each `start()` gives a fresh server on an empty store of its own under `root`, and `stop()` removes it. */
function pushTargets(root = PUSH_DIR) {
  let n = 0
  const fresh = (name) => {
    const dir = join(root, `${name.replace(/\W+/g, '-')}-${process.pid}-${n++}`)
    freshDir(dir)
    return dir
  }
  const started = (server, dir) => {
    const stop = server.stop.bind(server)
    server.stop = async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
    return server
  }
  return [
    {
      name: 'zreg push',
      start: async () => {
        const dir = fresh('zreg')
        return started(await startZregPush(join(dir, 'store'), join(dir, 'site')), dir)
      },
    },
    {
      name: 'distribution',
      start: async () => {
        const dir = fresh('distribution')
        return started(await startDistribution(join(dir, 'root'), join(dir, 'distribution.yml')), dir)
      },
    },
  ]
}

/** Starts a fresh server, runs `work(server)`, stops it (its store removed) whatever happens. */
async function withFreshServer(target, work) {
  const server = await target.start()
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

/** How fast this disk takes `bytes` written and fdatasync'd (MB/s): the bound of any durable upload. */
async function diskWriteMBps(dir, bytes) {
  const path = join(dir, `calibration-${process.pid}`)
  const chunk = Buffer.alloc(MiB, 1)
  await flushDisk()
  const started = performance.now()
  const handle = await open(path, 'w')
  try {
    for (let written = 0; written < bytes; written += chunk.length) await handle.write(chunk)
    await handle.datasync()
  } finally {
    await handle.close()
    await rm(path, { force: true })
  }
  return bytes / ((performance.now() - started) / 1000) / 1e6
}

/**
 * A shell started once that runs sync(1) whenever asked. Spawning a process from this one right before
 * an in-process measurement would charge it for fork's copy-on-write: every heap page written next
 * faults once (here a one-tag rebuild took 50-60 ms longer after any spawn, even of true(1)).
 */
let flusher

function startFlusher() {
  const child = track(spawn('sh', ['-c', 'while read -r _; do sync; echo; done'], { stdio: ['pipe', 'pipe', 'inherit'] }))
  // Idle between flushes, it must not keep the benchmark from exiting.
  child.unref()
  child.stdout.unref()
  flusher = child
}

/** Flushes write-back left by earlier work (a previous upload, a removed store), so it is not charged to the next one. */
function flushDisk() {
  if (flusher === undefined) startFlusher()
  const child = flusher
  child.ref()
  child.stdout.ref()
  return new Promise((resolve, reject) => {
    const died = () => reject(new Error('the sync helper exited'))
    child.once('exit', died)
    child.stdout.once('data', () => {
      child.off('exit', died)
      child.unref()
      child.stdout.unref()
      resolve()
    })
    child.stdin.write('\n')
  })
}

/** Reads files once so that the first timed round does not pay for the disk. */
async function warmPageCache(files) {
  await run('sh', ['-c', 'cat "$@" > /dev/null', 'sh', ...files], { timeoutMs: 600000 })
}

const blobFile = (digest) => join(IMAGES_DIR, 'blobs', 'sha256', digest.slice('sha256:'.length))

/** Checks the pushed manifest comes back byte-identical and every layer's HEAD has its full Content-Length. */
async function verifyPushed(server, image) {
  const base = `http://127.0.0.1:${server.port}`
  const problems = []
  const response = await fetch(`${base}/v2/${image.repository}/manifests/${image.tag}`, { headers: { Accept: MT.manifest } })
  const body = Buffer.from(await response.arrayBuffer())
  if (response.status !== 200) problems.push(`manifest GET status ${response.status}`)
  else if (`sha256:${sha256hex(body)}` !== image.manifest.digest) problems.push(`manifest is sha256:${sha256hex(body)}, expected ${image.manifest.digest}`)
  for (const blob of [image.config, ...image.layers]) {
    const head = await fetch(`${base}/v2/${image.repository}/blobs/${blob.digest}`, { method: 'HEAD' })
    if (head.status !== 200 || Number(head.headers.get('content-length')) !== blob.size)
      problems.push(`blob ${blob.digest.slice(0, 19)} HEAD ${head.status}, Content-Length ${head.headers.get('content-length')} (expected ${blob.size})`)
  }
  return problems
}

async function skopeoPush(server, image) {
  // --preserve-digests: without it skopeo gzips the uncompressed layers on the way (as when loading distribution for (a)/(b)).
  const r = await run(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${IMAGES_DIR}:${image.ref}`, `docker://127.0.0.1:${server.port}/${image.ref}`],
    { timeoutMs: 600000, allowFail: true },
  )
  const problems = r.code === 0 ? await verifyPushed(server, image) : [`skopeo failed (${r.code ?? r.signal}): ${r.stderr.trim().slice(-500)}`]
  return { seconds: r.ms / 1000, problems }
}

/**
 * One curl request; returns the status and the Location header, resolved against the server (distribution's
 * is absolute). `bodyFile` is streamed as the body with its Content-Length: `--data-binary @file` would
 * first read the whole file into curl's memory, a client cost that would blur a server-bound figure.
 */
async function curlRequest(base, method, url, { bodyFile, headers = [] } = {}) {
  const body = bodyFile
    ? ['-T', '-', '-H', 'Transfer-Encoding:', '-H', 'Expect:', '-H', `Content-Length: ${statSync(bodyFile).size}`, '-H', 'Content-Type: application/octet-stream']
    : ['-H', 'Content-Length: 0']
  const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %header{location}', '-X', method, ...body, ...headers, url], {
    allowFail: true,
    timeoutMs: 600000,
    stdinFile: bodyFile,
  })
  const [status, location] = r.stdout.trim().split(' ')
  return { status: Number(status), location: location ? new URL(location, base).href : undefined, ms: r.ms, curlCode: r.code, stderr: r.stderr.trim() }
}

const withDigest = (location, digest) => `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`

/**
 * Uploads `file` (`digest`, `size` bytes) to `repository`. Modes: 'monolithic' (one POST ?digest= with the
 * body), 'post-put' (POST, then PUT ?digest= with the whole body), 'chunked' (POST, PATCH each chunk with
 * Content-Range, PUT ?digest=). Returns the wall time and every answer's status.
 */
async function curlUpload(server, { mode, file, digest, size, chunks }) {
  const base = `http://127.0.0.1:${server.port}`
  const start = `${base}/v2/${UPLOAD_REPOSITORY}/blobs/uploads/`
  const steps = []
  const step = (name, response, expected) => {
    steps.push({ step: name, status: response.status, expected, ms: Math.round(response.ms), ...(response.curlCode ? { curlCode: response.curlCode, stderr: response.stderr } : {}) })
    if (response.status !== expected) throw new Error(`${name}: ${response.status} (expected ${expected})`)
    if (expected === 202 && !response.location) throw new Error(`${name}: 202 without a Location`)
    return response
  }
  const started = performance.now()
  let error
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
    error = e.message
  }
  const seconds = (performance.now() - started) / 1000
  let headOk = false
  if (!error) {
    const head = await fetch(`${base}/v2/${UPLOAD_REPOSITORY}/blobs/${digest}`, { method: 'HEAD' })
    headOk = head.status === 200 && Number(head.headers.get('content-length')) === size
    if (!headOk) error = `HEAD after the upload: ${head.status}, Content-Length ${head.headers.get('content-length')} (expected ${size})`
  }
  return { seconds, MBps: size / seconds / 1e6, ok: !error, error, steps }
}

/** Splits `file` into `n` equal chunk files under bench/.data/push-chunks (made once, reused). */
async function ensureChunks(file, digest, size, n) {
  const dir = join(DATA, 'push-chunks')
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

/** Whether a server takes a whole blob in one POST ?digest= (201), or only opens a session (202); probed on a fresh server. */
async function probeMonolithic(target) {
  const bytes = Buffer.from(createHash('sha256').update('zreg-bench-probe').digest('hex').repeat(64))
  const digest = `sha256:${sha256hex(bytes)}`
  const file = join(PUSH_DIR, `probe-${process.pid}`)
  writeFileSync(file, bytes)
  try {
    return await withFreshServer(target, async (server) => {
      const r = await curlRequest(`http://127.0.0.1:${server.port}`, 'POST', `http://127.0.0.1:${server.port}/v2/${UPLOAD_REPOSITORY}/blobs/uploads/?digest=${digest}`, {
        bodyFile: file,
      })
      return r.status
    })
  } finally {
    rmSync(file, { force: true })
  }
}

async function benchPush(images, results, rows, issues) {
  mkdirSync(PUSH_DIR, { recursive: true })
  const targets = pushTargets()
  const blob = images.blob300.layers[0]
  const file = blobFile(blob.digest)
  const chunks = await ensureChunks(file, blob.digest, blob.size, settings.uploadChunks)
  const pushKeys = ['img50', 'img300']
  await warmPageCache([...pushKeys.flatMap((k) => [images[k].config, images[k].manifest, ...images[k].layers].map((b) => blobFile(b.digest))), file, ...chunks.map((c) => c.file)])
  const e = { skopeo: {}, upload: {}, monolithic: {} }
  // The order of the servers turns each round, so neither always goes first.
  const rotated = (list, round) => list.map((_, i) => list[(i + round) % list.length])

  // 1. skopeo copy oci: -> docker://, a fresh server for every push.
  for (const key of pushKeys) {
    const image = images[key]
    e.skopeo[key] = Object.fromEntries(targets.map((t) => [t.name, { times: [], problems: [] }]))
    for (let round = 0; round < settings.pushRounds; round++) {
      for (const target of rotated(targets, round)) {
        await withFreshServer(target, async (server) => {
          await flushDisk()
          const p = await skopeoPush(server, image)
          const entry = e.skopeo[key][target.name]
          entry.times.push(p.seconds)
          entry.problems.push(...p.problems)
          for (const problem of p.problems) issues.push(`(e) ${target.name}: skopeo push of ${image.ref}: ${problem}`)
          log(`(e) ${target.name}: skopeo push ${image.ref} ${p.seconds.toFixed(2)} s${p.problems.length ? ` (PROBLEMS: ${p.problems.join('; ')})` : ''}`)
        })
      }
    }
    for (const entry of Object.values(e.skopeo[key])) entry.median = median(entry.times)
  }

  // 2. curl uploads of the 300 MiB blob: monolithic (or POST + PUT where unsupported) and chunked.
  for (const target of targets) {
    const status = await probeMonolithic(target)
    e.monolithic[target.name] = { probeStatus: status, mode: status === 201 ? 'monolithic' : 'post-put' }
    if (status !== 201 && status !== 202) issues.push(`(e) ${target.name}: POST ?digest= with a body answered ${status} (expected 201, or 202 where monolithic uploads are unsupported)`)
    log(`(e) ${target.name}: POST ?digest= with the blob as body -> ${status}${status === 201 ? '' : '; its monolithic figures use POST then PUT ?digest= with the whole body'}`)
  }
  // Server-bound (the target) on tmpfs, where neither server waits for the disk; and on this disk, where
  // both wait for the fsync that makes an upload durable (info: bounded by the calibration below).
  const media = [...(existsSync('/dev/shm') ? [{ name: 'tmpfs', root: join('/dev/shm', `zreg-bench-push-${process.pid}`) }] : []), { name: 'disk', root: PUSH_DIR }]
  e.diskWriteMBps = await diskWriteMBps(PUSH_DIR, blob.size)
  log(`(e) calibration: ${(blob.size / MiB).toFixed(0)} MiB written and fdatasync'd on this disk at ${e.diskWriteMBps.toFixed(0)} MB/s`)
  for (const medium of media) {
    mkdirSync(medium.root, { recursive: true })
    const mediumTargets = pushTargets(medium.root)
    try {
      for (const kind of ['monolithic', 'chunked']) {
        const key = `${kind} ${medium.name}`
        e.upload[key] = Object.fromEntries(mediumTargets.map((t) => [t.name, { mode: kind === 'chunked' ? 'chunked' : e.monolithic[t.name].mode, runs: [] }]))
        for (let round = 0; round < settings.uploadRounds; round++) {
          for (const target of rotated(mediumTargets, round)) {
            const entry = e.upload[key][target.name]
            await withFreshServer(target, async (server) => {
              await flushDisk()
              const idleMB = rssNowMB(server.pid)
              const sampler = rssSampler(server.pid)
              const u = await curlUpload(server, { mode: entry.mode, file, digest: blob.digest, size: blob.size, chunks })
              u.rssMaxMB = sampler.stop().maxMB
              u.rssIdleMB = idleMB
              entry.runs.push(u)
              if (!u.ok) issues.push(`(e) ${target.name}: ${kind} upload (${entry.mode}) of the 300 MiB blob on ${medium.name}: ${u.error}`)
              const steps = u.steps.map((s) => `${s.step} ${s.status} ${s.ms} ms`).join(', ')
              log(`(e) ${target.name}: ${kind} upload (${entry.mode}) on ${medium.name} ${u.seconds.toFixed(2)} s, ${u.MBps.toFixed(0)} MB/s, RSS idle ${idleMB.toFixed(1)} MB, max ${u.rssMaxMB.toFixed(1)} MB [${steps}]${u.ok ? '' : ` (FAILED: ${u.error})`}`)
            })
          }
        }
        for (const entry of Object.values(e.upload[key])) {
          const ok = entry.runs.filter((r) => r.ok)
          entry.ok = ok.length === entry.runs.length
          entry.medianSeconds = ok.length ? median(ok.map((r) => r.seconds)) : undefined
          entry.medianMBps = ok.length ? median(ok.map((r) => r.MBps)) : undefined
          entry.rssMaxMB = Math.max(...entry.runs.map((r) => r.rssMaxMB))
          entry.rssIdleMB = Math.max(...entry.runs.map((r) => r.rssIdleMB))
        }
      }
    } finally {
      if (medium.name === 'tmpfs') rmSync(medium.root, { recursive: true, force: true })
    }
  }
  results.push = { blobBytes: blob.size, chunkBytes: chunks[0].size, chunks: chunks.length, ...e }

  const z = 'zreg push'
  const d = 'distribution'
  for (const key of pushKeys) {
    const med = (name) => e.skopeo[key][name].median
    const label = key === 'img50' ? '50 MiB (5 x 10 MiB)' : '300 MiB (6 x 50 MiB)'
    rows.push(
      row(`(e) skopeo push ${label}, s (median of ${settings.pushRounds})`, {
        zreg: med(z),
        distribution: med(d),
        ratio: ratioOf(med(d), med(z)),
        ratioNote: 'dist/zreg',
        target: '>= 1.0 (dist time / zreg time)',
        pass: (r) => r >= 1.0,
        valid: targets.every((t) => e.skopeo[key][t.name].problems.length === 0),
        unit: 's',
        digits: 2,
      }),
    )
  }
  for (const medium of media) {
    for (const kind of ['monolithic', 'chunked']) {
      const u = e.upload[`${kind} ${medium.name}`]
      const label = kind === 'monolithic' ? 'monolithic POST ?digest=' : `chunked POST + ${chunks.length} x ${(chunks[0].size / MiB).toFixed(0)} MiB PATCH + PUT`
      const serverBound = medium.name === 'tmpfs'
      rows.push(
        row(`(e) upload 300 MiB blob, ${label}, on ${medium.name}, MB/s (median of ${settings.uploadRounds})`, {
          zreg: u[z].medianMBps,
          distribution: u[d].medianMBps,
          ratio: ratioOf(u[z].medianMBps, u[d].medianMBps),
          target: serverBound ? '>= 2x distribution (server-bound)' : `info (disk-bound: the disk writes ${e.diskWriteMBps.toFixed(0)} MB/s)`,
          pass: serverBound ? (r) => r >= 2 : undefined,
          valid: u[z].ok && u[d].ok,
          unit: 'MB/s',
          note: kind === 'monolithic' && u[d].mode !== 'monolithic' ? `distribution answers 202 to POST ?digest= with a body (no monolithic upload): its figure is POST then PUT ?digest= with the whole body` : undefined,
        }),
      )
    }
  }
  rows.push(row(`(e) calibration: 300 MiB written + fdatasync on this disk (MB/s)`, { zreg: e.diskWriteMBps, target: 'info', valid: true, unit: 'MB/s', digits: 0 }))
  const mono = e.upload[`monolithic ${media[0].name}`]
  rows.push(
    row(`(e) max RSS during the 300 MiB monolithic upload (MB)`, {
      zreg: mono[z].rssMaxMB,
      distribution: mono[d].rssMaxMB,
      target: 'info',
      valid: true,
      unit: 'MB',
      digits: 1,
      note: `idle before it: zreg push ${mono[z].rssIdleMB.toFixed(1)} MB, distribution ${mono[d].rssIdleMB.toFixed(1)} MB; chunked upload max: zreg push ${e.upload[`chunked ${media[0].name}`][z].rssMaxMB.toFixed(1)} MB, distribution ${e.upload[`chunked ${media[0].name}`][d].rssMaxMB.toFixed(1)} MB (VmRSS sampled every 100 ms)`,
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// (f) ingest: zreg add of a 300 MiB archive against skopeo copy of the same file

const INGEST_DIR = join(DATA, 'ingest')

/**
 * Runs a command under /usr/bin/time: wall time and the peak RSS the kernel recorded (no polling gaps).
 * With allowFail, a non-zero exit is returned (code, and the command's own stderr without time's lines).
 */
async function runMeasured(cmd, args, { allowFail = false } = {}) {
  const r = await run('/usr/bin/time', ['-f', 'maxrss-kib=%M', cmd, ...args], { timeoutMs: 900000, allowFail })
  const kib = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1])
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/^maxrss-kib=\d+$/.test(l) && !l.startsWith('Command exited with non-zero status'))
    .join('\n')
    .trim()
  return { seconds: r.ms / 1000, peakRssMB: (kib * 1024) / 1e6, code: r.code, stdout: r.stdout, stderr }
}

/**
 * What downloading the big image's layers costs with nothing else done: a Node 20 process that GETs
 * every layer at once with undici (as zreg does) and discards the bytes, and curl doing the same, one
 * process per layer. A floor for zreg add docker://, which also hashes, writes and fsyncs them.
 */
async function mirrorDownloadFloor(host) {
  const base = `http://${host}/v2/${MIRROR_BIG.repository}`
  const manifest = JSON.parse((await run('curl', ['-sf', '-H', 'Accept: application/vnd.oci.image.manifest.v1+json', `${base}/manifests/${MIRROR_BIG.tag}`])).stdout)
  const urls = manifest.layers.map((layer) => `${base}/blobs/${layer.digest}`)
  const drain = `import { request } from 'undici'
await Promise.all(${JSON.stringify(urls)}.map(async (url) => { const { body } = await request(url, { maxRedirections: 1 }); for await (const chunk of body) void chunk }))`
  await run('sync', [])
  const node = await runMeasured(process.execPath, ['--input-type=module', '-e', drain], {})
  const curl = await runMeasured('sh', ['-c', `${urls.map((url) => `curl -sf -o /dev/null '${url}' &`).join(' ')} wait`], {})
  return { nodeSeconds: node.seconds, curlSeconds: curl.seconds }
}

/** img300 written once by skopeo as a docker-archive (uncompressed layers, linked) and an oci-archive. */
async function ensureIngestArchives(images) {
  mkdirSync(INGEST_DIR, { recursive: true })
  const archives = { 'docker-archive': join(INGEST_DIR, 'img300.docker.tar'), 'oci-archive': join(INGEST_DIR, 'img300.oci.tar') }
  for (const [transport, file] of Object.entries(archives)) {
    if (existsSync(file)) continue
    log(`(f) writing ${file} with skopeo`)
    rmSync(`${file}.partial`, { force: true })
    await run('skopeo', ['copy', '-q', `oci:${IMAGES_DIR}:${images.img300.ref}`, `${transport}:${file}.partial:${transport === 'docker-archive' ? images.img300.ref : images.img300.tag}`], { timeoutMs: 600000 })
    renameSync(`${file}.partial`, file)
  }
  return archives
}

function treeBytes(dir) {
  return Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0])
}

async function benchIngest(images, results, rows, issues) {
  const archives = await ensureIngestArchives(images)
  results.ingest = {}
  for (const [transport, file] of Object.entries(archives)) {
    const zregStore = join(INGEST_DIR, 'zreg-store')
    const skopeoLayout = join(INGEST_DIR, 'skopeo-layout')
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoLayout, { recursive: true, force: true })
    // Both read the archive from the page cache, and neither pays for the other's write-back.
    await run('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file])
    await run('sync', [])
    const name = transport === 'oci-archive' ? ['--name', images.img300.repository] : []
    const zreg = await runMeasured(ZREG, ['add', `${transport}:${file}`, '--store', zregStore, ...name])
    await run('sync', [])
    const skopeo = await runMeasured('skopeo', ['copy', '-q', `${transport}:${file}`, `oci:${skopeoLayout}:${images.img300.ref}`])
    const out = { archiveBytes: statSync(file).size, zreg: { ...zreg, storeBytes: treeBytes(zregStore) }, skopeo: { ...skopeo, layoutBytes: treeBytes(skopeoLayout) } }
    results.ingest[transport] = out
    // zreg verify hashes every blob the store holds; openssl dgst -sha256 hashes the same files in one
    // process: both from the page cache (the add just wrote them).
    const blobFiles = readdirSync(join(zregStore, 'blobs', 'sha256')).map((name) => join(zregStore, 'blobs', 'sha256', name))
    const verify = await runMeasured(ZREG, ['verify', '--store', zregStore], { allowFail: true })
    if (verify.code !== 0) issues.push(`(f) zreg verify after adding the ${transport}: ${verify.stderr.trim()}`)
    const openssl = await runMeasured('openssl', ['dgst', '-sha256', ...blobFiles])
    log(`(f) ${transport}: zreg verify ${verify.seconds.toFixed(2)} s, openssl dgst -sha256 ${openssl.seconds.toFixed(2)} s over ${blobFiles.length} blobs`)
    log(`(f) ${transport}: zreg add ${zreg.seconds.toFixed(1)} s, peak RSS ${zreg.peakRssMB.toFixed(0)} MB; skopeo copy ${skopeo.seconds.toFixed(1)} s, peak RSS ${skopeo.peakRssMB.toFixed(0)} MB`)
    rows.push(
      row(`(f) zreg add ${transport}: 300 MiB, 6 layers (s)`, {
        zreg: zreg.seconds,
        ratio: ratioOf(skopeo.seconds, zreg.seconds),
        ratioNote: 'skopeo/zreg',
        target: '>= 1.0x skopeo',
        pass: (r) => r >= 1.0,
        valid: verify.code === 0,
        unit: 's',
        note: `skopeo copy ${transport}: -> oci: ${skopeo.seconds.toFixed(1)} s, peak RSS ${skopeo.peakRssMB.toFixed(0)} MB; bytes written: zreg ${(out.zreg.storeBytes / 1e6).toFixed(0)} MB, skopeo ${(out.skopeo.layoutBytes / 1e6).toFixed(0)} MB`,
      }),
      row(`(f) zreg add ${transport}: peak RSS (MB)`, { zreg: zreg.peakRssMB, target: '< 150 MB', pass: (v) => v < 150, valid: verify.code === 0, unit: 'MB', digits: 1 }),
      row(`(f) zreg verify of that store, vs openssl dgst -sha256 (s)`, {
        zreg: verify.seconds,
        ratio: ratioOf(openssl.seconds, verify.seconds),
        ratioNote: 'openssl/zreg',
        target: '>= 1.0x openssl',
        pass: (r) => r >= 1.0,
        valid: verify.code === 0,
        unit: 's',
        note: `openssl dgst -sha256 over the ${blobFiles.length} blob files: ${openssl.seconds.toFixed(2)} s, one process; zreg verify includes its process start`,
      }),
    )
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoLayout, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// (g) mirror: zreg add docker:// and zreg sync from the reference registry, against skopeo copy and skopeo sync

const MIRROR_DIR = join(DATA, 'mirror')
const MIRROR_IMAGES = join(MIRROR_DIR, 'images')
const MIRROR_REGISTRY = join(MIRROR_DIR, 'registry')
const MIRROR_REGISTRY_INFO = join(MIRROR_DIR, 'registry.json')
const MIRROR_VERSION = 1
const MIRROR_BIG = { repository: 'bench/big', tag: '1' }
const MIRROR_MANY = 'bench/many'
/** What a registry client asks for: either manifest format (skopeo pushes OCI manifests). */
const MANIFEST_ACCEPT = `${MT.manifest}, ${MT.index}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json`

/**
 * The distinct images behind the tags of bench/many, with layer sharing as in real images: every one is
 * built on one 1 MiB base layer, one of 4 runtime layers of 256 KiB (each shared by a quarter of them),
 * and an application layer of its own of 4 to 64 KiB.
 */
function mirrorManySpecs(count) {
  return Array.from({ length: count }, (_, i) => ({
    ref: `${MIRROR_MANY}:src-${String(i).padStart(2, '0')}`,
    layers: [
      { seed: 'mirror-base', size: MiB },
      { seed: `mirror-runtime-${i % 4}`, size: 256 * 1024 },
      { seed: `mirror-app-${i}`, size: 4096 * (1 + ((i * 7) % 16)) },
    ],
  }))
}

/** Tag i of bench/many (semver-like, as real tags): the first mirrorDistinctImages are pushed, the others retag them. */
const mirrorTag = (i, distinct) => `1.${Math.floor(i / distinct)}.${i % distinct}`

/**
 * The OCI layout the mirror registry is loaded from (made once, reused): the distinct images of bench/many
 * and, in quick runs, a small 6-layer big image. Full runs take img300 from the shared images layout.
 * Returns { many: [ref], big: { layout, ref, digest? }, key } (key: what the layout was made from; digest:
 * img300's; the mirror registry is loaded again when either changes).
 */
async function ensureMirrorImages(images) {
  const specs = mirrorManySpecs(settings.mirrorDistinctImages)
  const bigSpec = Q ? { ref: `${MIRROR_BIG.repository}:quick`, layers: Array.from({ length: 6 }, (_, i) => ({ seed: `mirror-big-${i}`, size: settings.mirrorQuickLayerBytes })) } : undefined
  const big = Q ? { layout: MIRROR_IMAGES, ref: bigSpec.ref } : { layout: IMAGES_DIR, ref: images.img300.ref, digest: images.img300.manifest.digest }
  const wanted = JSON.stringify({ version: MIRROR_VERSION, specs, bigSpec })
  const info = join(MIRROR_IMAGES, 'bench-mirror.json')
  if (existsSync(info) && readFileSync(info, 'utf8') === wanted) {
    log(`(g) reusing ${MIRROR_IMAGES}`)
    return { many: specs.map((s) => s.ref), big, key: wanted }
  }
  log(`(g) generating ${MIRROR_IMAGES}`)
  rmSync(MIRROR_IMAGES, { recursive: true, force: true })
  writeLayoutSkeleton(MIRROR_IMAGES)
  const blobs = join(MIRROR_IMAGES, 'blobs', 'sha256')
  const written = new Map()
  const layerBlob = async ({ seed, size }) => {
    if (!written.has(seed)) written.set(seed, await writeRandomBlob(blobs, seed, size))
    return written.get(seed)
  }
  const index = { schemaVersion: 2, mediaType: MT.index, manifests: [] }
  for (const spec of [...specs, ...(bigSpec ? [bigSpec] : [])]) {
    const layers = []
    for (const layer of spec.layers) layers.push(await layerBlob(layer))
    const config = writeBytesBlob(blobs, Buffer.from(JSON.stringify(configJson(layers, { 'bench.image': spec.ref }))))
    const manifest = writeBytesBlob(blobs, Buffer.from(JSON.stringify(imageManifest(config, layers))))
    index.manifests.push({ mediaType: MT.manifest, digest: manifest.digest, size: manifest.size, annotations: { [REF_NAME]: spec.ref } })
  }
  writeFileSync(join(MIRROR_IMAGES, 'index.json'), JSON.stringify(index, null, 2))
  writeFileSync(info, wanted)
  return { many: specs.map((s) => s.ref), big, key: wanted }
}

/** GET a manifest: its bytes, Content-Type and digest (checked against Docker-Content-Digest). */
async function getManifest(base, repository, reference) {
  const response = await fetch(`${base}/v2/${repository}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } })
  const bytes = Buffer.from(await response.arrayBuffer())
  if (response.status !== 200) throw new Error(`GET ${repository}:${reference} manifest: ${response.status} ${bytes.toString().slice(0, 300)}`)
  const digest = `sha256:${sha256hex(bytes)}`
  if (response.headers.get('docker-content-digest') !== digest) throw new Error(`GET ${repository}:${reference}: Docker-Content-Digest ${response.headers.get('docker-content-digest')}, body ${digest}`)
  return { bytes, digest, mediaType: response.headers.get('content-type') }
}

/**
 * Loads the mirror registry: the big image and the distinct images of bench/many pushed with skopeo (which
 * gzips their layers, as images in real registries are), then the remaining tags PUT as copies of those
 * manifests. Returns what it holds: { big: digest, many: { tag: digest }, layers: {...} }.
 */
async function populateMirrorRegistry(server, data) {
  const base = `http://127.0.0.1:${server.port}`
  const push = async (layout, ref, target) => {
    const r = await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${ref}`, `docker://127.0.0.1:${server.port}/${target}`], { timeoutMs: 900000 })
    log(`(g) registry: pushed ${target} in ${(r.ms / 1000).toFixed(1)} s`)
  }
  await push(data.big.layout, data.big.ref, `${MIRROR_BIG.repository}:${MIRROR_BIG.tag}`)
  const D = settings.mirrorDistinctImages
  const pushed = []
  for (const [i, ref] of data.many.entries()) {
    const tag = mirrorTag(i, D)
    await push(MIRROR_IMAGES, ref, `${MIRROR_MANY}:${tag}`)
    pushed.push(await getManifest(base, MIRROR_MANY, tag))
  }
  const started = performance.now()
  const many = Object.fromEntries(pushed.map((m, i) => [mirrorTag(i, D), m.digest]))
  for (let i = D; i < settings.mirrorTags; i++) {
    const tag = mirrorTag(i, D)
    const source = pushed[i % D]
    const response = await fetch(`${base}/v2/${MIRROR_MANY}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': source.mediaType }, body: source.bytes })
    const text = await response.text()
    if (response.status !== 201 || response.headers.get('docker-content-digest') !== source.digest)
      throw new Error(`PUT ${MIRROR_MANY}:${tag}: ${response.status}, Docker-Content-Digest ${response.headers.get('docker-content-digest')} (expected ${source.digest}): ${text.slice(0, 300)}`)
    many[tag] = source.digest
  }
  log(`(g) registry: tagged ${settings.mirrorTags - D} more tags of ${MIRROR_MANY} by manifest PUT in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const references = pushed.flatMap((m) => JSON.parse(m.bytes.toString()).layers.map((l) => l.digest))
  const layers = { references: references.length, distinct: new Set(references).size }
  const big = (await getManifest(base, MIRROR_BIG.repository, MIRROR_BIG.tag)).digest
  return { big, many, layers }
}

/** Every tag of `repository` the registry lists (one page: distribution answers all without ?n=). */
async function listTags(base, repository) {
  const response = await fetch(`${base}/v2/${repository}/tags/list`)
  if (response.status !== 200) return []
  return (await response.json()).tags ?? []
}

/**
 * Starts distribution on the mirror registry's storage and makes sure it holds the current data: reused
 * when its record matches these settings and the registry still answers it, loaded from scratch otherwise.
 */
async function ensureMirrorRegistry(data) {
  const wanted = JSON.stringify({ tags: settings.mirrorTags, images: data.key, big: data.big })
  let held
  try {
    const record = JSON.parse(readFileSync(MIRROR_REGISTRY_INFO, 'utf8'))
    if (record.wanted === wanted) held = record.held
  } catch {
    // not loaded yet
  }
  if (!held) {
    rmSync(MIRROR_REGISTRY_INFO, { force: true })
    rmSync(MIRROR_REGISTRY, { recursive: true, force: true })
  }
  const server = await startDistribution(MIRROR_REGISTRY, join(MIRROR_DIR, 'distribution.yml'))
  try {
    const base = `http://127.0.0.1:${server.port}`
    if (held) {
      const tags = await listTags(base, MIRROR_MANY)
      const big = await getManifest(base, MIRROR_BIG.repository, MIRROR_BIG.tag).catch(() => undefined)
      if (tags.length === settings.mirrorTags && big?.digest === held.big) {
        log(`(g) registry: reusing ${MIRROR_REGISTRY}`)
        return { server, held }
      }
      throw new Error(`the mirror registry in ${MIRROR_REGISTRY} does not hold what ${MIRROR_REGISTRY_INFO} says (${tags.length} tags of ${MIRROR_MANY}); delete both and run again`)
    }
    log(`(g) registry: loading ${settings.mirrorTags} tags of ${MIRROR_MANY} (${settings.mirrorDistinctImages} distinct images) and ${MIRROR_BIG.repository}:${MIRROR_BIG.tag}`)
    held = await populateMirrorRegistry(server, data)
    const tags = await listTags(base, MIRROR_MANY)
    if (tags.length !== settings.mirrorTags) throw new Error(`the mirror registry lists ${tags.length} tags of ${MIRROR_MANY} after loading, expected ${settings.mirrorTags}`)
    writeFileSync(MIRROR_REGISTRY_INFO, JSON.stringify({ wanted, held }, null, 2))
    return { server, held }
  } catch (error) {
    await server.stop()
    throw error
  }
}

/** repository:tag -> manifest digest of a zreg store (its index.json), or undefined when it has none. */
function storeRefs(store) {
  try {
    const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8'))
    return new Map(index.manifests.map((m) => [m.annotations?.[REF_NAME], m.digest]))
  } catch {
    return undefined
  }
}

/** What a no-change run must leave as it was: the store's index.json and its set of blobs. */
function storeSnapshot(store) {
  const listing = spawnSync('find', [join(store, 'blobs'), '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').sort().join('\n')
  let index = ''
  try {
    index = readFileSync(join(store, 'index.json'), 'utf8')
  } catch {
    // no index
  }
  return sha256hex(`${index}\n${listing}`)
}

/** The problems with a store zreg wrote: refs missing or pointing elsewhere than the registry's, and `zreg verify`. */
async function checkMirrorStore(store, expected) {
  const refs = storeRefs(store)
  const problems = []
  if (!refs) problems.push(`no index.json in ${store}`)
  else {
    const wrong = Object.entries(expected).filter(([ref, digest]) => refs.get(ref) !== digest)
    if (wrong.length) problems.push(`${wrong.length} of ${Object.keys(expected).length} refs missing or not the registry's manifest (first: ${wrong[0][0]} is ${refs.get(wrong[0][0])}, expected ${wrong[0][1]})`)
  }
  const verify = await run(process.execPath, [ZREG, 'verify', '--store', store], { allowFail: true })
  if (verify.code !== 0) problems.push(`zreg verify: ${(verify.stderr || verify.stdout).trim().slice(-500)}`)
  return problems
}

/**
 * The problems with what skopeo sync wrote into `dir`: images missing or with another manifest. Without
 * --scoped, skopeo names each image's dir: by the repository's last component (`many:TAG`).
 */
function checkSkopeoSync(dir, many) {
  const name = MIRROR_MANY.split('/').pop()
  const wrong = Object.entries(many).filter(([tag, digest]) => {
    try {
      return `sha256:${sha256hex(readFileSync(join(dir, `${name}:${tag}`, 'manifest.json')))}` !== digest
    } catch {
      return true
    }
  })
  return wrong.length ? [`${wrong.length} of ${Object.keys(many).length} images missing or with another manifest (first: ${name}:${wrong[0][0]})`] : []
}

/** A zreg run's --json output, or its last lines when it printed something else. */
function jsonOrTail(stdout) {
  try {
    return JSON.parse(stdout)
  } catch {
    return stdout.trim().slice(-1000) || undefined
  }
}

/**
 * Whether this zreg can mirror: `zreg add docker://` of one small image, and `zreg sync --help`. The
 * feature may be missing from the build under test; then the zreg side is reported as not run, with why.
 */
async function probeZregMirror(base) {
  const store = join(MIRROR_DIR, `probe-store-${process.pid}`)
  rmSync(store, { recursive: true, force: true })
  try {
    const ref = `${base.slice('http://'.length)}/${MIRROR_MANY}:${mirrorTag(0, settings.mirrorDistinctImages)}`
    const add = await run(process.execPath, [ZREG, 'add', `docker://${ref}`, '--store', store], { allowFail: true, timeoutMs: 120000 })
    const sync = await run(process.execPath, [ZREG, 'sync', '--help'], { allowFail: true, timeoutMs: 60000 })
    const why = (r) => (r.stderr || r.stdout).trim().split('\n')[0].slice(0, 300)
    return {
      add: add.code === 0 ? undefined : `zreg add docker://${ref} failed (exit ${add.code ?? add.signal}): ${why(add)}`,
      sync: sync.code === 0 ? undefined : `zreg sync --help failed (exit ${sync.code ?? sync.signal}): ${why(sync)}`,
    }
  } finally {
    rmSync(store, { recursive: true, force: true })
  }
}

async function benchMirror(images, results, rows, issues) {
  mkdirSync(MIRROR_DIR, { recursive: true })
  const data = await ensureMirrorImages(images)
  const { server, held } = await ensureMirrorRegistry(data)
  const g = { tags: settings.mirrorTags, distinctImages: settings.mirrorDistinctImages, bigSource: data.big.ref, layers: held.layers }
  const notRun = {}
  try {
    const host = `127.0.0.1:${server.port}`
    const base = `http://${host}`
    log(`(g) registry :${server.port}: ${MIRROR_BIG.repository}:${MIRROR_BIG.tag} and ${Object.keys(held.many).length} tags of ${MIRROR_MANY} (layers: ${held.layers.references} references, ${held.layers.distinct} distinct)`)
    // Both sides read the registry's files from the page cache.
    await run('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'sh', MIRROR_REGISTRY], { timeoutMs: 600000 })
    await waitForDist()
    const probe = await probeZregMirror(base)
    for (const [side, why] of Object.entries(probe)) {
      if (!why) continue
      notRun[side] = why
      issues.push(`(g) zreg side of ${side === 'add' ? 'add docker://' : 'sync'} not run: ${why} (is the mirror feature, issue #8, in this build? npm run build)`)
      log(`(g) zreg side of ${side} not run: ${why}`)
    }

    // 1. One big image: zreg add docker:// against skopeo copy docker:// -> oci:, each into an empty store.
    const bigUrl = `docker://${host}/${MIRROR_BIG.repository}:${MIRROR_BIG.tag}`
    const zregStore = join(MIRROR_DIR, 'zreg-store')
    const skopeoOut = join(MIRROR_DIR, 'skopeo-out')
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })
    g.add = {}
    if (!notRun.add) {
      await run('sync', [])
      const r = await runMeasured(ZREG, ['add', bigUrl, '--store', zregStore, '--json'], { allowFail: true })
      const problems = r.code === 0 ? await checkMirrorStore(zregStore, { [`${MIRROR_BIG.repository}:${MIRROR_BIG.tag}`]: held.big }) : [`exit ${r.code}: ${r.stderr.slice(-500)}`]
      g.add.zreg = { exit: r.code, seconds: r.seconds, peakRssMB: r.peakRssMB, storeBytes: existsSync(zregStore) ? treeBytes(zregStore) : 0, output: jsonOrTail(r.stdout), problems }
      for (const p of problems) issues.push(`(g) zreg add ${bigUrl}: ${p}`)
      log(`(g) zreg add ${bigUrl}: ${r.seconds.toFixed(1)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB${problems.length ? ` (PROBLEMS: ${problems.join('; ')})` : ''}`)
    }
    await run('sync', [])
    const sc = await runMeasured('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', bigUrl, `oci:${skopeoOut}:big`])
    g.add.skopeo = { seconds: sc.seconds, peakRssMB: sc.peakRssMB, layoutBytes: treeBytes(skopeoOut) }
    log(`(g) skopeo copy ${bigUrl} oci:: ${sc.seconds.toFixed(1)} s, peak RSS ${sc.peakRssMB.toFixed(0)} MB`)
    g.add.floor = await mirrorDownloadFloor(host)
    log(`(g) the same layers only downloaded and discarded: node + undici ${g.add.floor.nodeSeconds.toFixed(2)} s, curl ${g.add.floor.curlSeconds.toFixed(2)} s`)
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })

    // 2. Every tag of bench/many: zreg sync (twice, the second changes nothing) against skopeo sync of the same file.
    const syncFile = join(MIRROR_DIR, 'sync.yaml')
    writeFileSync(syncFile, `# written by bench/run.mjs: every tag of ${MIRROR_MANY}\n${host}:\n  tls-verify: false\n  images:\n    ${MIRROR_MANY}: []\n`)
    const expected = Object.fromEntries(Object.entries(held.many).map(([tag, digest]) => [`${MIRROR_MANY}:${tag}`, digest]))
    g.sync = {}
    if (!notRun.sync) {
      for (const which of ['first', 'again']) {
        const before = which === 'again' ? storeSnapshot(zregStore) : undefined
        await run('sync', [])
        const r = await runMeasured(ZREG, ['sync', syncFile, '--store', zregStore, '--json'], { allowFail: true })
        const problems = r.code === 0 ? await checkMirrorStore(zregStore, expected) : [`exit ${r.code}: ${r.stderr.slice(-500)}`]
        if (before !== undefined && r.code === 0 && storeSnapshot(zregStore) !== before) problems.push('the no-change run changed the store (index.json or blobs)')
        g.sync[which] = { exit: r.code, seconds: r.seconds, peakRssMB: r.peakRssMB, output: jsonOrTail(r.stdout), problems }
        for (const p of problems) issues.push(`(g) zreg sync (${which} run): ${p}`)
        log(`(g) zreg sync, ${which} run: ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB${problems.length ? ` (PROBLEMS: ${problems.join('; ')})` : ''}`)
        if (r.code !== 0) break
      }
      g.sync.storeBytes = existsSync(zregStore) ? treeBytes(zregStore) : 0
    }
    await run('sync', [])
    const ss = await runMeasured('skopeo', ['--insecure-policy', 'sync', '--src', 'yaml', '--dest', 'dir', '--src-tls-verify=false', syncFile, skopeoOut])
    const skopeoProblems = checkSkopeoSync(skopeoOut, held.many)
    for (const p of skopeoProblems) issues.push(`(g) skopeo sync: ${p}`)
    g.sync.skopeo = { seconds: ss.seconds, peakRssMB: ss.peakRssMB, dirBytes: treeBytes(skopeoOut), problems: skopeoProblems }
    log(`(g) skopeo sync --src yaml --dest dir: ${ss.seconds.toFixed(1)} s, peak RSS ${ss.peakRssMB.toFixed(0)} MB${skopeoProblems.length ? ` (PROBLEMS: ${skopeoProblems.join('; ')})` : ''}`)
    rmSync(zregStore, { recursive: true, force: true })
    rmSync(skopeoOut, { recursive: true, force: true })
  } finally {
    await server.stop()
  }
  g.notRun = notRun
  results.mirror = g

  const big = Q ? `6 x ${(settings.mirrorQuickLayerBytes / MiB).toFixed(0)} MiB` : '300 MiB, 6 layers'
  const tags = `${settings.mirrorTags} tags`
  const za = g.add.zreg
  const okAdd = za !== undefined && za.problems.length === 0
  const first = g.sync.first
  const again = g.sync.again
  const okFirst = first !== undefined && first.problems.length === 0 && g.sync.skopeo.problems.length === 0
  const okAgain = again !== undefined && again.problems.length === 0
  const why = (side) => (notRun[side] ? `zreg not run: ${notRun[side]}` : undefined)
  // A run that failed has no figure (n/a; the issue says why); one whose checks failed is marked invalid.
  const figure = (measured, key) => (measured?.exit === 0 ? measured[key] : undefined)
  rows.push(
    row(`(g) zreg add docker:// ${big} (s)`, {
      zreg: figure(za, 'seconds'),
      ratio: ratioOf(g.add.skopeo.seconds, figure(za, 'seconds')),
      ratioNote: 'skopeo/zreg',
      target: '>= 1.5x skopeo',
      pass: (r) => r >= 1.5,
      valid: okAdd,
      unit: 's',
      note: [
        why('add'),
        `skopeo copy docker:// -> oci: ${g.add.skopeo.seconds.toFixed(1)} s, peak RSS ${g.add.skopeo.peakRssMB.toFixed(0)} MB`,
        `bytes written: ${za ? `zreg ${(za.storeBytes / 1e6).toFixed(0)} MB, ` : ''}skopeo ${(g.add.skopeo.layoutBytes / 1e6).toFixed(0)} MB`,
      ]
        .filter(Boolean)
        .join('; '),
    }),
    row(`(g) calibration: its layers downloaded and discarded by Node 20 + undici, all at once, start included (s)`, {
      zreg: g.add.floor.nodeSeconds,
      target: 'info',
      valid: true,
      unit: 's',
      digits: 2,
      note: `the least any Node program takes for this download on this machine; curl, one process per layer: ${g.add.floor.curlSeconds.toFixed(2)} s`,
    }),
    row(`(g) zreg add docker://: peak RSS (MB)`, { zreg: figure(za, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okAdd, unit: 'MB', digits: 1 }),
    row(`(g) zreg sync, ${tags} of ${MIRROR_MANY} (s)`, {
      zreg: figure(first, 'seconds'),
      ratio: ratioOf(g.sync.skopeo.seconds, figure(first, 'seconds')),
      ratioNote: 'skopeo/zreg',
      target: '>= 2x skopeo sync',
      pass: (r) => r >= 2,
      valid: okFirst,
      unit: 's',
      note: [
        why('sync'),
        `skopeo sync --src yaml --dest dir: ${g.sync.skopeo.seconds.toFixed(1)} s, peak RSS ${g.sync.skopeo.peakRssMB.toFixed(0)} MB`,
        `bytes written: ${g.sync.storeBytes !== undefined ? `zreg ${(g.sync.storeBytes / 1e6).toFixed(0)} MB, ` : ''}skopeo ${(g.sync.skopeo.dirBytes / 1e6).toFixed(0)} MB (one dir: per tag)`,
        `${settings.mirrorDistinctImages} distinct images, ${held.layers.distinct} distinct layers`,
      ]
        .filter(Boolean)
        .join('; '),
    }),
    row(`(g) zreg sync: peak RSS (MB)`, { zreg: figure(first, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okFirst, unit: 'MB', digits: 1 }),
    row(`(g) zreg sync again, no change, ${tags} (s)`, { zreg: figure(again, 'seconds'), target: '<= 2 s', pass: (v) => v <= 2, valid: okAgain, unit: 's', digits: 2 }),
    row(`(g) zreg sync again: peak RSS (MB)`, { zreg: figure(again, 'peakRssMB'), target: '< 150 MB', pass: (v) => v < 150, valid: okAgain, unit: 'MB', digits: 1 }),
  )
}

// ---------------------------------------------------------------------------------------------
// (h) publish: zreg publish s3:// against rclone sync, both into s3rver on loopback

const PUBLISH_DIR = join(DATA, 'publish')
const S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }

/** The environment for an S3 client of s3rver: its credentials, no AWS_* of the machine (a CA bundle, a profile). */
function s3Env() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('RCLONE_')))
  return { ...env, ...S3_CREDENTIALS, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
}

/** s3rver (the test suite's S3 server) as a child process on a free port, its data in `dir`, with `buckets`. */
async function startS3rver(dir, buckets) {
  freshDir(dir)
  const script = `const S3rver = require(${JSON.stringify(join(REPO, 'node_modules', 's3rver'))});
new S3rver({ port: 0, address: '127.0.0.1', directory: process.argv[1], silent: true, configureBuckets: ${JSON.stringify(buckets.map((name) => ({ name })))} })
  .run().then((address) => console.log('PORT ' + address.port))`
  const server = new Server('s3rver', spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] }))
  const deadline = performance.now() + 20000
  while (!/PORT \d+/.test(server.output)) {
    if (server.hasExited || performance.now() > deadline) throw new Error(`s3rver did not start:\n${server.output}`)
    await sleep(50)
  }
  server.port = Number(/PORT (\d+)/.exec(server.output)[1])
  server.endpoint = `http://127.0.0.1:${server.port}`
  return server
}

/** rclone with the remote `s3:` configured by environment for s3rver at `endpoint`. */
function rcloneEnv(endpoint) {
  return {
    ...s3Env(),
    RCLONE_CONFIG_S3_TYPE: 's3',
    RCLONE_CONFIG_S3_PROVIDER: 'Other',
    RCLONE_CONFIG_S3_ENDPOINT: endpoint,
    RCLONE_CONFIG_S3_ACCESS_KEY_ID: S3_CREDENTIALS.AWS_ACCESS_KEY_ID,
    RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
    RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3_REGION: 'us-east-1',
  }
}

/** `zreg publish` of `site` to s3://BUCKET/PREFIX on `server`: its --json summary and the wall time. */
async function zregPublish(server, site, target, extra = []) {
  const r = await run(ZREG, ['publish', target, '--out', site, '--endpoint', server.endpoint, '--path-style', '--json', ...extra], { env: s3Env(), fullEnv: true, timeoutMs: 3600000 })
  return { ...JSON.parse(r.stdout), wallMs: r.ms }
}

async function benchPublish(images, results, rows, issues) {
  const h = {}
  // Full runs publish the bench tree (the images of a-c, ~700 MB); quick runs the 1 KiB-layer scale tree.
  let tree
  if (Q) {
    const small = await ensureScaleStore(settings.scaleRepositories, settings.scaleTagsPerRepository, settings.scaleSmallLayerBytes)
    tree = join(PUBLISH_DIR, 'quick-site')
    await run(ZREG, ['build', '--store', small.dir, '--out', tree], { timeoutMs: 600000 })
  } else {
    await ensureZregSite(images)
    tree = ZREG_SITE
  }
  const treeBytesTotal = Number(spawnSync('du', ['-sbL', join(tree, 'v2')], { encoding: 'utf8' }).stdout.split(/\s/)[0])
  const server = await startS3rver(join(PUBLISH_DIR, 's3rver'), ['zreg', 'rclone', 'scale'])
  try {
    const zreg = await zregPublish(server, tree, 's3://zreg/site')
    // rclone follows the tree's links (-L): the literal tree's repositories are links to their directories.
    const rclone = await run('rclone', ['--config', '/dev/null', 'sync', '-L', '--transfers', '8', '--checkers', '8', join(tree, 'v2'), 's3:rclone/site/v2'], { env: rcloneEnv(server.endpoint), fullEnv: true, timeoutMs: 3600000 })
    h.tree = { bytes: treeBytesTotal, zreg: { wallMs: zreg.wallMs, uploaded: zreg.uploaded, copied: zreg.copied, bytes: zreg.bytes }, rcloneMs: rclone.ms }
    log(`(h) publish of the ${(treeBytesTotal / MiB).toFixed(0)} MiB tree: zreg ${(zreg.wallMs / 1000).toFixed(1)} s (${zreg.uploaded} uploaded, ${zreg.copied} copied), rclone sync ${(rclone.ms / 1000).toFixed(1)} s`)

    // The 10,000-tag site of (d): published once, then one tag changes and it is published again.
    const scale = await ensureScaleStore(settings.scaleRepositories, settings.scaleTagsPerRepository, settings.scaleSmallLayerBytes)
    const scaleSite = join(PUBLISH_DIR, 'scale-site')
    try {
      await run(ZREG, ['build', '--store', scale.dir, '--out', scaleSite], { timeoutMs: 600000 })
      const first = await zregPublish(server, scaleSite, 's3://scale/site', ['--jobs', '16'])
      log(`(h) first publish of the ${(settings.scaleRepositories * settings.scaleTagsPerRepository).toLocaleString('en-US')}-tag site: ${(first.wallMs / 1000).toFixed(1)} s, ${first.uploaded} uploaded, ${first.copied} copied`)
      retagOne(scale.dir, JSON.parse(scale.meta.indexText), 0)
      await run(ZREG, ['build', '--store', scale.dir, '--out', scaleSite], { timeoutMs: 600000 })
      const again = await zregPublish(server, scaleSite, 's3://scale/site')
      // Beside the objects: the keys about to change, written and then deleted, and the record.
      const written = again.uploaded + again.copied + again.deleted + 3
      h.republish = { wallMs: again.wallMs, seconds: again.seconds, written, uploaded: again.uploaded, copied: again.copied, firstMs: first.wallMs, firstObjects: first.uploaded + first.copied }
      log(`(h) republish after a one-tag change: ${written} objects written (record included), ${(again.seconds * 1000).toFixed(0)} ms in the command, ${again.wallMs.toFixed(0)} ms wall`)
      if (again.uploaded + again.copied === 0) issues.push('(h) the republish after a one-tag change wrote nothing')
    } finally {
      writeFileSync(join(scale.dir, 'index.json'), scale.meta.indexText)
      rmSync(scaleSite, { recursive: true, force: true })
    }
  } finally {
    await server.stop()
    rmSync(join(PUBLISH_DIR, 's3rver'), { recursive: true, force: true })
    if (Q) rmSync(tree, { recursive: true, force: true })
  }
  results.publish = h
  const tags = (settings.scaleRepositories * settings.scaleTagsPerRepository).toLocaleString('en-US')
  rows.push(
    row(`(h) publish the ${Q ? 'scale' : 'bench'} tree to s3rver: rclone sync time / zreg publish time`, { zreg: h.tree.zreg.wallMs / 1000, ratio: ratioOf(h.tree.rcloneMs, h.tree.zreg.wallMs), ratioNote: 'rclone/zreg', target: '>= 1.0x', pass: (x) => x >= 1.0, valid: true, unit: 's', digits: 1, note: `rclone sync ${(h.tree.rcloneMs / 1000).toFixed(1)} s; zreg ${h.tree.zreg.uploaded} uploaded, ${h.tree.zreg.copied} copied server-side` }),
    row(`(h) republish after a one-tag change, ${tags} tags: objects written`, { zreg: h.republish.written, target: '<= 10', pass: (x) => x <= 10, valid: true, unit: 'objects', digits: 0 }),
    row(`(h) republish after a one-tag change, ${tags} tags: zreg publish (s)`, { zreg: h.republish.seconds, target: '<= 1 s', pass: (x) => x <= 1, valid: true, unit: 's', digits: 2, note: `the command's own time; first publish ${(h.republish.firstMs / 1000).toFixed(1)} s for ${h.republish.firstObjects} objects` }),
    row(`(h) republish after a one-tag change, ${tags} tags: wall with process start (s)`, { zreg: h.republish.wallMs / 1000, target: 'info', valid: true, unit: 's', digits: 2 }),
  )
}

// ---------------------------------------------------------------------------------------------
// Results table

function ratioOf(a, b) {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined
}

/** A table row; `pass` judges `subject` when given, else the ratio when there is one, else the zreg column. */
function row(metric, { zreg, nginx, distribution, ratio, ratioNote, target, pass, valid, unit, digits, note, subject: judged }) {
  let verdict = 'info'
  if (pass) {
    const subject = judged !== undefined ? judged : ratio !== undefined ? ratio : zreg
    if (subject === undefined) verdict = 'n/a'
    else verdict = pass(subject) ? 'PASS' : 'FAIL'
    if (!valid && verdict !== 'n/a') verdict += ' (invalid run)'
  }
  return { metric, unit, zreg, nginx, distribution, ratio, ratioNote, target, verdict, digits, note }
}

function fmt(value, digits) {
  if (value === undefined || Number.isNaN(value)) return '-'
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

function table(rows) {
  const header = ['metric', 'zreg', 'nginx', 'distribution', 'ratio', 'target', 'pass/fail']
  const lines = rows.map((r) => [
    r.metric,
    fmt(r.zreg, r.digits),
    fmt(r.nginx, r.digits),
    fmt(r.distribution, r.digits),
    r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x${r.ratioNote ? ` (${r.ratioNote})` : ''}`,
    r.target ?? '',
    r.verdict,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const numeric = new Set([1, 2, 3, 4])
  const render = (cells) => `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`
  const out = [render(header), `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...lines.map(render)]
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.metric}: ${r.note}`)
  return `${out.join('\n')}\n${notes.length ? `notes:\n${notes.join('\n')}\n` : ''}`
}

function toolVersions() {
  const v = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim())?.trim() ?? '?'
  }
  return {
    node: process.version,
    nginx: v('nginx', ['-v']),
    distribution: v('docker-registry', ['--version']),
    wrk: v('wrk', ['--version']),
    skopeo: v('skopeo', ['--version']),
    rclone: v('rclone', ['--version']),
    curl: v('curl', ['--version']),
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(DATA, { recursive: true })
  // Before anything is measured in this process (see flushDisk).
  startFlusher()
  const results = {
    date: new Date().toISOString(),
    mode: Q ? 'quick' : 'full',
    only: [...options.only].sort(),
    settings,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: +(totalmem() / 1e9).toFixed(1), loadavgStart: loadavg().map((x) => +x.toFixed(2)) },
    cpuTimesStart: cpuTimes(),
    tools: toolVersions(),
    notes: [
      'wrk runs with one thread (-t1) on the same machine as the server under test.',
      'nginx runs with worker_processes auto (one worker per core); zreg serve is one Node process; distribution uses all cores (Go).',
      'distribution config: filesystem storage, in-memory blob descriptor cache (as the packaged default), access log off.',
      '(e) push: zreg push and distribution each get a fresh server on an empty store for every push and upload; both stores on the same disk.',
      '(g) mirror: zreg and skopeo each write into an empty store (the no-change zreg sync into the one its first run wrote), from one distribution on loopback whose files are in the page cache.',
    ],
  }
  const rows = []
  const issues = []
  log(`mode ${results.mode}, phases ${results.only.join(',')}, ${results.host.cpus} cpus, load ${results.host.loadavgStart.join(' ')}`)
  const servers = []
  try {
    // (g) mirrors img300 in full runs; its quick runs make their own small image.
    const needsImages = ['a', 'b', 'c', 'e', 'f', 'i'].some((p) => options.only.has(p)) || ((options.only.has('g') || options.only.has('h')) && !Q)
    const images = needsImages ? await ensureImages() : undefined
    if (['a', 'b', 'c', 'i'].some((p) => options.only.has(p))) {
      await ensureZregSite(images)
      writeWrkScript()
      if (options.only.has('a') || options.only.has('b')) {
        servers.push(await startZreg())
        servers.push(await startNginx())
        const loaded = checkDistributionStorage(images)
        const dist = await startDistribution()
        servers.push(dist)
        if (loaded) log('distribution: reusing loaded storage')
        else await loadDistribution(dist, images)
        log(`servers: zreg serve :${servers[0].port} (pid ${servers[0].pid}), nginx :${servers[1].port}, distribution :${dist.port}`)
        for (const server of servers) await verifyServer(server, images, issues)
        if (options.only.has('a')) await benchServerBound(servers, images, results, rows, issues)
        if (options.only.has('b')) await benchPulls(servers, images, results, rows, issues)
        const zreg = servers[0]
        if (!zreg.hasExited) results.zregServeRssAfterABMB = rssNowMB(zreg.pid)
        for (const server of servers.splice(0)) await server.stop()
      }
      if (options.only.has('c')) await benchMemory(images, results, rows, issues)
      if (options.only.has('i')) await benchRedirects(images, results, rows, issues)
    }
    if (options.only.has('d')) await benchBuildScale(results, rows, issues)
    if (options.only.has('e')) await benchPush(images, results, rows, issues)
    if (options.only.has('f')) await benchIngest(images, results, rows, issues)
    if (options.only.has('g')) await benchMirror(images, results, rows, issues)
    if (options.only.has('h')) await benchPublish(images, results, rows, issues)
  } finally {
    for (const server of servers) await server.stop().catch(() => {})
  }
  results.host.loadavgEnd = loadavg().map((x) => +x.toFixed(2))
  results.host.stealPercent = stealPercent(results.cpuTimesStart, cpuTimes())
  delete results.cpuTimesStart
  results.rows = rows
  results.issues = issues
  writeFileSync(join(DATA, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)

  const steal = results.host.stealPercent === undefined ? '' : `; CPU stolen by the hypervisor ${results.host.stealPercent.toFixed(0)}%`
  process.stdout.write(`\nzreg benchmark (${results.mode}; ${results.host.cpus} cpus; load ${results.host.loadavgStart.join(' ')} -> ${results.host.loadavgEnd.join(' ')}${steal})\n`)
  process.stdout.write(table(rows))
  if (issues.length) process.stdout.write(`issues:\n${issues.map((i) => `  - ${i}`).join('\n')}\n`)
  process.stdout.write(`results: ${join(DATA, 'results.json')}\n`)
}

main().catch((error) => {
  log(`error: ${error.stack ?? error}`)
  killAllSync('SIGTERM')
  process.exitCode = 1
})
