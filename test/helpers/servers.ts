import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
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

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
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

/** Plain nginx serving `site` with the configuration `zreg build` generated for it. */
export async function startNginx(site: string): Promise<TestServer & { prefix: string }> {
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
    include ${site}/.zreg/nginx-http.conf;
    server {
        listen 127.0.0.1:${port};
        include ${site}/.zreg/nginx-locations.conf;
    }
}
`,
  )
  await execa('nginx', ['-p', prefix, '-c', conf])
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await fetch(`${url}/v2/`)).ok, 'nginx to start')
  return {
    url,
    authority: `127.0.0.1:${port}`,
    prefix,
    stop: async () => {
      await execa('nginx', ['-p', prefix, '-c', conf, '-s', 'quit'], { reject: false })
    },
  }
}

