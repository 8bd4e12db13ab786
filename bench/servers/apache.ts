import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { apacheModules } from '../../src/build/hosts/apache.js'
import { serverConfig } from '../../src/build/hosts/server-config.js'
import { dataDir } from '../paths.js'
import { freshDir } from '../support/disk.js'
import { freePort } from '../support/free-port.js'
import { Server } from '../support/server.js'

/**
 * Apache 2.4 (Debian's, event MPM, as many threads as wrk has connections) with the vhost include
 * `zreg server-config --for apache` writes, as a foreground process with a main configuration of its own
 * that loads the modules the include needs.
 */
export async function startApache(site: string): Promise<Server> {
  const port = await freePort()
  const dir = freshDir(join(dataDir, 'apache'))
  const generated = join(dir, 'zreg')
  const config = await serverConfig({ kind: 'apache', tree: site, output: generated })
  const modules = ['mpm_event', ...apacheModules]
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
${(config.written ?? []).map((path) => `Include ${path}`).join('\n')}
`,
  )
  const child = spawn('apache2', ['-DFOREGROUND', '-f', join(dir, 'httpd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('apache', child).readyOn(port)
}
