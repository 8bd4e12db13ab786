import assert from 'node:assert/strict'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import type { AuthSettings } from '../../src/access/read-rules.js'
import { apacheHost } from '../../src/build/hosts/apache.js'
import { hostAuth } from '../../src/build/hosts/host-auth.js'
import { htaccessHost, htaccessOverrides } from '../../src/build/hosts/htaccess.js'
import type { HostKind } from '../../src/build/hosts/host-kind.js'
import { freePort, type TestServer } from './servers.js'
import { tempDir } from './paths.js'

const modules = '/usr/lib/apache2/modules'
const apache2 = '/usr/sbin/apache2'

export interface ApacheOptions {
  /** Lines for the server context: the vhost include, or a <Directory> allowing the .htaccess files. */
  site: string
}

/**
 * Debian's Apache 2.4 as a plain foreground process on a free loopback port, with a minimal main
 * configuration of its own (ServerRoot, pid file and error log in a temp dir), loading only the modules
 * the generated configurations need.
 */
export async function startApache(options: ApacheOptions): Promise<TestServer & { errorLog: () => Promise<string> }> {
  const dir = await tempDir('apache')
  const port = await freePort()
  const conf = join(dir, 'httpd.conf')
  // As a Debian or shared-hosting Apache has them: handlers and filters keyed by file extension (type
  // maps, CGI, server-side includes, compression and language), and PHP as php-fpm installs it: a
  // FilesMatch that hands .php files to a handler (here cgi-script, which fails loudly if it runs).
  const load = ['mpm_event', 'authz_core', 'authz_user', 'authn_core', 'authn_file', 'auth_basic', 'mime', 'headers', 'rewrite', 'setenvif', 'dir', 'negotiation', 'include', 'cgid']
  await writeFile(
    conf,
    `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
${load.map((name) => `LoadModule ${name}_module ${modules}/mod_${name}.so`).join('\n')}
${process.getuid?.() === 0 ? 'User nobody\nGroup nogroup' : ''}
TypesConfig /etc/mime.types
Include /etc/apache2/mods-available/mime.conf
ScriptSock ${dir}/cgid.sock
AddHandler cgi-script .cgi .pl
AddEncoding x-gzip .gz
AddEncoding br .br
<FilesMatch ".+\.ph(ar|p|tml)$">
    SetHandler cgi-script
</FilesMatch>
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
<Directory />
    AllowOverride None
    Require all denied
</Directory>
${options.site}
`,
  )
  const child = execa(apache2, ['-DFOREGROUND', '-f', conf], { reject: false, stdin: 'ignore', all: true, buffer: false })
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    if (await fetch(`${url}/v2/`).then(() => true, () => false)) break
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGTERM')
      throw new Error(`apache2 did not start:\n${output}\n${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url,
    authority: `127.0.0.1:${port}`,
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8'),
    stop: async () => {
      // SIGTERM stops the parent and its children at once.
      child.kill('SIGTERM')
      await child
    },
  }
}

export interface ApacheMode {
  name: string
  host: HostKind
  /** The server context for a tree deployed at `root`, given the configuration's files written to `dir` (made with `auth` or not). */
  install(root: string, dir: string, files: { name: string; contents: string }[], auth?: boolean): Promise<string>
}

export const apacheModes: ApacheMode[] = [
  {
    name: 'Apache 2.4 with the vhost include',
    host: apacheHost,
    install: async (_root, dir, files) => {
      await writeFile(join(dir, files[0]!.name), files[0]!.contents)
      return `Include ${join(dir, files[0]!.name)}\n`
    },
  },
  {
    name: 'Apache 2.4 with only .htaccess files',
    host: htaccessHost,
    // Exactly what the generated file and its usage ask of the host, not All: less would be a 500.
    install: async (root, _dir, files, auth) => {
      for (const file of files) await writeFile(join(root, file.name), file.contents, { mode: 0o644 })
      return `DocumentRoot "${root}"\n<Directory "${root}">\n    AllowOverride ${htaccessOverrides(auth ?? false)}\n    Require all granted\n</Directory>\n`
    },
  },
]

/** A `cp -a` copy of the tree at a path of its own, served by Apache with the configuration made for that path (and `auth`, when given). */
export async function deployToApache(mode: ApacheMode, tree: string, auth?: AuthSettings): Promise<TestServer & { root: string }> {
  const dir = await tempDir('apache-deploy')
  // Apache's workers run as nobody when the tests run as root: the copy must be readable by others.
  await chmod(dir, 0o755)
  // A space in the deployed path: the configuration quotes it.
  const root = join(dir, 'srv registry')
  await execa('cp', ['-a', tree, root])
  await execa('chmod', ['-R', 'a+rX', root])
  const config = await mode.host.configure({ root, tree: root, listen: '127.0.0.1:8080', ...(auth ? { auth: await hostAuth(auth, root, root) } : {}) })
  assert.ok(!config.files.some((file) => file.contents.includes(tree)), 'the configuration names no path of the build')
  return { ...(await startApache({ site: await mode.install(root, dir, config.files, auth !== undefined) })), root }
}
