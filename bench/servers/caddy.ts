import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { serverConfig } from '../../src/build/hosts/server-config.js'
import { dataDir } from '../paths.js'
import { freshDir } from '../support/disk.js'
import { freePort } from '../support/free-port.js'
import { Server } from '../support/server.js'

/** Caddy 2 with the Caddyfile `zreg server-config --for caddy` writes, its admin endpoint and state in its own directory. */
export async function startCaddy(site: string): Promise<Server> {
  const port = await freePort()
  const dir = freshDir(join(dataDir, 'caddy'))
  const generated = join(dir, 'zreg')
  await serverConfig({ kind: 'caddy', tree: site, listen: `127.0.0.1:${port}`, output: generated })
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), ZREG_CADDY_ADMIN: `127.0.0.1:${await freePort()}` }
  const child = spawn('caddy', ['run', '--config', join(generated, 'Caddyfile'), '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('caddy', child).readyOn(port)
}
