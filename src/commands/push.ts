import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import { parsePlatform } from '../oci/platform.js'
import { checkRegistryHost } from '../oci/reference.js'
import { htpasswdOutside } from '../access/htpasswd-file.js'
import { repositoryGlob } from '../oci/repository-glob.js'
import { ZregError } from '../errors.js'
import { handoffFile, writeHandoff } from '../cli/handoff.js'
import { runPushMode, type PushModeSettings } from '../cli/push-mode.js'
import { authFlags, authSettings, listenFlags, listenOptions, outFlag, redirectRules, storeFlag, ZregCommand } from '../cli/base-command.js'

/** Push mode's flags; `zreg serve --push` takes them too. */
export const pushFlags = {
  ...listenFlags,
  store: storeFlag,
  overlay: Flags.string({
    description: 'A store stacked on --store (repeat for more, lowest first): pushes go into the last one (made when missing), reads and the tree see the stack [default: overlays in the config file]',
    multiple: true,
    multipleNonGreedy: true,
  }),
  out: outFlag,
  'default-platform': Flags.string({ description: 'Manifest a tag naming an index serves to clients that accept no index [default: linux/amd64]' }),
  'upload-expiry': Flags.integer({ description: 'Hours after which an untouched upload session is purged', default: 24, min: 1 }),
  ...authFlags,
  notify: Flags.string({ description: 'Webhook URL told of pushes, tags and deletes (repeatable; more options in the config file)', multiple: true }),
  namespaced: Flags.boolean({ description: 'The first path component names the upstream registry (/v2/docker.io/library/alpine); namespaces are kept apart' }),
  'max-uploads': Flags.integer({ description: 'Upload requests running at once before clients are told 503 with Retry-After', default: 64, min: 1 }),
}

export default class Push extends ZregCommand {
  static override summary = 'Run a registry-compatible upload target that writes the store and rebuilds the tree.'
  static override description = `Push (dev) mode: \`skopeo copy\`, \`podman push\` and \`docker push\` upload into it as into a registry. Blobs are hashed as they arrive and published into the store only once whole and verified; every accepted manifest rebuilds the static tree (--out) before the client is answered, so a pull from the tree right after a push sees it. Reads are the registry's full API, served from the store.
Uploads resume after a broken connection and after a restart; abandoned ones are purged after --upload-expiry hours.
With --overlay (or overlays in the config file), pushes go into the last overlay store and everything reads the stack, as \`zreg build --overlay\` does: a change's images shadow the mirror's of the same name, a manifest may name blobs the lower stores hold, and the lower stores are never written (Zuul's buildset registry).`

  static override examples = [
    '<%= config.bin %> push --port 5000',
    'skopeo copy --dest-tls-verify=false oci:./layout:1.0 docker://127.0.0.1:5000/app:1.0',
    '<%= config.bin %> push --store ./mirror --overlay ./change-1234 --out ./speculative-site',
  ]

  static override flags = pushFlags

  async run(): Promise<{ url: string; port: number } | undefined> {
    const { flags } = await this.parse(Push)
    return runPushCommand(this, flags)
  }
}

/**
 * `zreg push` and `zreg serve --push`: push mode's settings from the flags and the config file, then
 * the server, here or (started by bin/run.js) in the program it execs next, without the CLI (handoff.ts).
 */
export async function runPushCommand(command: ZregCommand, flags: Interfaces.InferredFlags<typeof pushFlags & typeof ZregCommand.baseFlags>): Promise<{ url: string; port: number } | undefined> {
  const config = await command.config_(flags)
  const auth = authSettings(flags, config)
  const out = flags.out ?? config.out ?? './zreg-site'
  if (auth !== undefined) await htpasswdOutside(auth.htpasswd, [out])
  for (const endpoint of config.notifications ?? []) for (const glob of endpoint.repositories ?? []) repositoryGlob(glob, `the repositories of webhook ${endpoint.url}`)
  const platform = flags['default-platform'] ?? config.defaultPlatform
  if (platform) parsePlatform(platform)
  const settings: PushModeSettings = {
    store: flags.store ?? config.store ?? './zreg-store',
    // With overlays, pushes go into the top one and reads see the stack (Zuul's buildset registry).
    overlays: flags.overlay ?? config.overlays ?? [],
    out,
    ...(platform ? { defaultPlatform: platform } : {}),
    ...(config.publicHost === undefined ? {} : { publicHost: checkRegistryHost(config.publicHost, 'publicHost in the config file') }),
    ...(auth === undefined
      ? {}
      : {
          auth: {
            ...auth,
            ...(config.auth?.writers ? { writers: config.auth.writers } : {}),
            ...(config.auth?.tokenSecret ? { tokenSecret: config.auth.tokenSecret } : {}),
          },
        }),
    redirects: redirectRules(undefined, config).rules,
    uploadExpiryMs: flags['upload-expiry'] * 60 * 60 * 1000,
    maxUploads: flags['max-uploads'],
    namespaced: flags.namespaced,
    notifications: [...(config.notifications ?? []), ...(flags.notify ?? []).map((url) => ({ url }))],
    listen: listenOptions(flags, config, { json: command.jsonEnabled() }),
    json: command.jsonEnabled(),
  }
  const handoff = handoffFile()
  if (handoff !== undefined) {
    // See bin/run.js: an upload's dead socket buffers need the larger initial heap.
    writeHandoff(handoff, { kind: 'push', settings }, ['--initial-heap-size=64'])
    return undefined
  }
  const server = await runPushMode(settings)
  // Under --json the start-up line was the result; another object at exit would break JSON lines.
  return command.jsonEnabled() ? undefined : server
}
