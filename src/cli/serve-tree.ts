import { startStaticServer } from '../server/http-server.js'
import { serveOptionsOf, type ServeSettings } from '../server/serve-settings.js'
import { startServeWorkers } from '../server/serve-workers.js'
import { serveUntilSignal } from '../server/until-signal.js'

/** What `zreg serve` runs once its flags and config file are read: JSON, so another process may run it (handoff.ts). */
export interface ServeTreeSettings {
  serve: ServeSettings
  /** Processes serving (node:cluster); 1: this process alone. */
  workers: number
  /** One JSON line `{url, port}` on stdout instead of the lines for people on stderr. */
  json: boolean
}

/**
 * `zreg serve` past its flags: serves the tree on `workers` processes, says where (with images to
 * pull), and runs until SIGINT or SIGTERM, letting requests in flight finish. Rejects as the servers
 * do when they cannot start (SITE_NOT_FOUND, PORT_IN_USE, USAGE for unusable TLS files, ...). Run by
 * the command itself, or by the program it hands the server to (server-main.ts).
 */
export async function serveTree(options: ServeTreeSettings): Promise<{ url: string; port: number }> {
  // Under --json, stdout's line is all it says (as oclif's logToStderr keeps quiet then).
  const serve = serveOptionsOf(options.serve)
  const log = options.json ? () => undefined : (text: string) => void process.stderr.write(`${text}\n`)
  let server: { url: string; port: number; close(): Promise<void> }
  let examples: string[]
  if (options.workers > 1) {
    const started = await startServeWorkers({ count: options.workers, serve, log })
    server = started
    examples = started.examples
  } else {
    const single = await startStaticServer(serve)
    server = single
    examples = single.registry.examples(1)
  }
  const authority = server.url.replace(/^https?:\/\//, '')
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`)
  } else {
    log(`zreg: serving ${options.serve.out} at ${server.url} (port ${server.port})`)
    for (const image of examples) {
      const tls = server.url.startsWith('http:') ? '--src-tls-verify=false ' : ''
      log(`try:  skopeo copy ${tls}docker://${authority}/${image} oci:/tmp/zreg-pull:latest`)
      log(`      podman pull ${server.url.startsWith('http:') ? '--tls-verify=false ' : ''}${authority}/${image}`)
    }
  }
  await serveUntilSignal(server, log)
  return { url: server.url, port: server.port }
}
