import type { ServeResults } from '../phases/a-serve.js'
import type { PullResults } from '../phases/b-pull.js'
import type { MemoryResults } from '../phases/c-memory.js'
import type { BuildScaleResults } from '../phases/d-build-scale.js'
import type { LargeBuildScaleResults } from '../phases/d-build-scale-large.js'
import type { PushResults } from '../phases/e-push.js'
import type { IngestResults } from '../phases/f-ingest.js'
import type { MirrorResults } from '../phases/g-mirror.js'
import type { PublishResults } from '../phases/h-publish.js'
import type { RedirectResults } from '../phases/i-redirects.js'
import type { BenchSettings, PhaseName } from '../settings.js'
import type { Row } from './rows.js'

export interface HostInfo {
  cpus: number
  cpuModel: string | undefined
  /** 10^9 bytes. */
  memGB: number
  loadavgStart: number[]
  loadavgEnd?: number[]
  /** Percent of CPU time the hypervisor took during the run (/proc/stat). */
  stealPercent?: number | undefined
}

/**
 * bench/.data/results.json. Keys are kept from run to run so results stay comparable; each phase's key
 * is present when the phase ran, in the order the phases run.
 */
export interface BenchResults {
  date: string
  mode: 'quick' | 'full'
  only: PhaseName[]
  settings: BenchSettings
  host: HostInfo
  tools: Record<string, string>
  notes: string[]
  serverBound?: ServeResults
  pulls?: PullResults
  /** VmRSS of the zreg serve of (a) and (b) after them, MB. */
  zregServeRssAfterABMB?: number
  memory?: MemoryResults
  redirects?: RedirectResults
  buildScale?: BuildScaleResults
  buildScaleLarge?: LargeBuildScaleResults
  push?: PushResults
  ingest?: IngestResults
  mirror?: MirrorResults
  publish?: PublishResults
  rows?: Row[]
  issues?: string[]
}
