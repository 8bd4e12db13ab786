// The program `zreg serve` hands its server over to (serve-handoff.ts): bin/run.js execs it with the
// handoff file as its argument, once the command has read the flags and the config file.
import { reportError, toCliError } from './cli-error.js'
import { readServeHandoff } from './serve-handoff.js'
import { serveTree } from './serve-tree.js'

let json = false
try {
  const options = readServeHandoff(process.argv[2] ?? '')
  json = options.json
  await serveTree(options)
} catch (error) {
  // As the command would have said it (serve's errors are the servers', raised after the handoff).
  reportError(toCliError(error), { json })
}
