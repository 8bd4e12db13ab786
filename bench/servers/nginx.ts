import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { serverConfig } from '../../src/build/hosts/server-config.js'
import { dataDir } from '../paths.js'
import { run } from '../support/children.js'
import { freshDir } from '../support/disk.js'
import { freePort } from '../support/free-port.js'
import { Server } from '../support/server.js'

/**
 * nginx serving `site` with the complete configuration `zreg server-config --for nginx` writes (the
 * same code: worker_processes auto, sendfile, the maps and locations), started as its usage says
 * (`nginx -p DIR -c DIR/nginx.conf`), in the foreground so it is the benchmark's child. Started as
 * root, its workers run as nginx's default user (nobody), as Apache's do: the tree must be readable by others.
 */
export async function startNginx(site: string): Promise<Server> {
  const port = await freePort()
  const dir = freshDir(join(dataDir, 'nginx'))
  await serverConfig({ kind: 'nginx', tree: site, listen: `127.0.0.1:${port}`, output: dir })
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;']
  const test = await run('nginx', ['-t', ...args], { allowFail: true })
  if (test.code !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`)
  const child = spawn('nginx', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Server('nginx', child).readyOn(port)
}
