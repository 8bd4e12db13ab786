import type { Row } from './report/rows.js'
import type { BenchSettings } from './settings.js'

/** What every phase gets: the run's settings, and the lists it adds its table rows and issues to. */
export interface PhaseContext {
  quick: boolean
  settings: BenchSettings
  /** The summary table's rows, in the order they are printed. */
  rows: Row[]
  /** What went wrong without stopping the run (wrong digests, failed downloads, unexpected statuses). */
  issues: string[]
}
