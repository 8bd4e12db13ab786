// The program `zreg serve` and `zreg push` hand their server to (handoff.ts): bin/run.js execs it with
// the handoff file as its argument, once the command has read the flags and the config file. Each kind
// loads only its own server (a static one never loads push mode).
import { reportError, toCliError } from './cli-error.js'
import { readHandoff } from './handoff.js'

let json = false
try {
  const handoff = readHandoff(process.argv[2] ?? '')
  json = handoff.settings.json
  if (handoff.kind === 'serve') await (await import('./serve-tree.js')).serveTree(handoff.settings)
  else await (await import('./push-mode.js')).runPushMode(handoff.settings)
} catch (error) {
  // As the command would have said it (the errors of opening and starting come after the handoff).
  reportError(toCliError(error), { json })
}
