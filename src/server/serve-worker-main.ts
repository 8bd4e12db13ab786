// The program each `zreg serve` worker runs (serve-workers.ts): the server alone, without the CLI.
import { runServeWorker } from './serve-workers.js'

await runServeWorker()
