/** What every publish target takes and reports (`zreg publish TARGET`). */
export interface PublishOptions {
  /** Work out and return the plan; write nothing. */
  dryRun?: boolean
  /** Remove from the target what the live generation no longer uses (after everything else). */
  delete?: boolean
  /** Writes in flight at once (default 8). */
  jobs?: number
  /** Check the record of the last publish against the target's listing first (S3). */
  verify?: boolean
  /** Called as objects and bytes are written; `total*` are what the plan sends. */
  onProgress?: (progress: PublishProgress) => void
}

export interface PublishProgress {
  objects: number
  totalObjects: number
  bytes: number
  totalBytes: number
}

/** One write (or deletion) of the plan: what --dry-run --json lists. */
export interface PublishAction {
  action: 'upload' | 'copy' | 'delete'
  key: string
  /** Bytes sent for an upload; 0 otherwise. */
  bytes: number
  /** For a copy: the key it is copied from. */
  from?: string
}

/** The `--json` summary: counts of objects uploaded, copied (server-side or hard-linked), skipped as unchanged, deleted; bytes sent. */
export interface PublishSummary {
  target: string
  dryRun: boolean
  uploaded: number
  copied: number
  skipped: number
  deleted: number
  bytes: number
  seconds: number
  /** With --dry-run: every write and deletion it would make. */
  actions?: PublishAction[]
}

export const defaultPublishJobs = 8
