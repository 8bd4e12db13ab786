import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { zregOk } from './cli.js'
import { cliPath, tempDir } from './paths.js'

export interface TestServer {
  url: string
  /** host:port, as image references name it. */
  authority: string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Resolves once `check` is true (polled every 50 ms); throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A zreg server command as a process, on a free port it reports itself (`(port N)`). */
async function startCliServer(args: string[], scheme: 'http' | 'https'): Promise<TestServer & { process: ResultPromise; log: () => string }> {
  const child = execa(cliPath, [...args, '--port', '0'], { reject: false, stdin: 'ignore', all: true, buffer: false })
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitFor(async () => /\(port \d+\)/.test(output), `zreg ${args[0]} to start:\n${output}`)
  const port = Number(/\(port (\d+)\)/.exec(output)![1])
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    process: child,
    log: () => output,
    stop: async () => {
      child.kill('SIGTERM')
      await child
    },
  }
}

/** `zreg serve` of a built tree. */
export async function startZregServe(site: string, extra: string[] = []) {
  return startCliServer(['serve', site, ...extra], extra.includes('--tls-cert') ? 'https' : 'http')
}

/** `zreg push` writing `store` and keeping `out` built. */
export async function startZregPush(store: string, out: string, extra: string[] = []) {
  return startCliServer(['push', '--store', store, '--out', out, ...extra], 'http')
}

/** Where a host's configuration comes from: `zreg server-config` for the tree, deployed at `root`. */
export interface HostServerOptions {
  /** --root: where the tree is (default: `site` itself). */
  root?: string
  /** More flags for zreg server-config (--auth ...). */
  args?: string[]
}

/** `zreg server-config --for KIND` written to `output`, for a server on `port`. */
async function serverConfig(kind: string, site: string, port: number, output: string, options: HostServerOptions): Promise<void> {
  await zregOk(['server-config', '--for', kind, '--out', site, '--listen', `127.0.0.1:${port}`, '--output', output, ...(options.root ? ['--root', options.root] : []), ...(options.args ?? [])])
}

/**
 * Plain nginx on a free loopback port with the http-level lines `http(port, prefix)` gives (its
 * server blocks included), its temp paths, pid and error log under a temp prefix; ready when GET
 * `ready` answers (any status).
 */
export async function startPlainNginx(http: (port: number, prefix: string) => string | Promise<string>, ready = '/v2/'): Promise<TestServer & { prefix: string; port: number }> {
  const prefix = await tempDir('nginx')
  const port = await freePort()
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(prefix, dir))
  const conf = join(prefix, 'nginx.conf')
  await writeFile(
    conf,
    `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${prefix}/body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
${await http(port, prefix)}
}
`,
  )
  await execa('nginx', ['-p', prefix, '-c', conf])
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await fetch(`${url}${ready}`), true), 'nginx to start')
  return {
    url,
    authority: `127.0.0.1:${port}`,
    port,
    prefix,
    stop: async () => {
      await execa('nginx', ['-p', prefix, '-c', conf, '-s', 'quit'], { reject: false })
    },
  }
}

/** Plain nginx serving `site` with the configuration `zreg server-config --for nginx` generated for it. */
export async function startNginx(site: string, options: HostServerOptions = {}): Promise<TestServer & { prefix: string; config: string }> {
  let generated = ''
  const server = await startPlainNginx(async (port, prefix) => {
    generated = join(prefix, 'zreg')
    await serverConfig('nginx', site, port, generated, options)
    return `    include ${generated}/nginx-http.conf;
    server {
        listen 127.0.0.1:${port};
        include ${generated}/nginx-locations.conf;
    }`
  })
  return { ...server, config: generated }
}

/**
 * Caddy 2 as a plain process with the Caddyfile `zreg server-config --for caddy` generated: its state
 * (HOME, XDG dirs) in a temp directory, its admin endpoint on a free port (for `caddy reload`).
 */
export async function startCaddy(site: string, options: HostServerOptions = {}): Promise<TestServer & { config: string; reload: () => Promise<void> }> {
  const dir = await tempDir('caddy')
  const port = await freePort()
  const generated = join(dir, 'zreg')
  await serverConfig('caddy', site, port, generated, options)
  const caddyfile = join(generated, 'Caddyfile')
  const env = { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), ZREG_CADDY_ADMIN: `127.0.0.1:${await freePort()}` }
  const child = execa('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { reject: false, stdin: 'ignore', all: true, buffer: false, env })
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  // Any answer: with --auth, /v2/ is a 401.
  await waitFor(async () => (await fetch(`${url}/v2/`), true), 'caddy to start').catch((error: Error) => {
    throw new Error(`${error.message}:\n${output}`)
  })
  return {
    url,
    authority: `127.0.0.1:${port}`,
    config: generated,
    reload: async () => {
      await execa('caddy', ['reload', '--config', caddyfile, '--adapter', 'caddyfile'], { env })
    },
    stop: async () => {
      child.kill('SIGTERM')
      await child
    },
  }
}

/** A `cp -a` copy of a built tree, as a deployment makes it. */
export async function copyTree(site: string, name = 'copy'): Promise<string> {
  const copy = join(await tempDir(name), 'site')
  await execa('cp', ['-a', site, copy])
  return copy
}
