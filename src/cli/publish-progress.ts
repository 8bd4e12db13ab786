import cliProgress from 'cli-progress'
import { formatBytes } from './base-command.js'

/** What `zreg publish` shows while it writes, on a terminal only: one bar of objects and bytes. */
export interface PublishProgressBar {
  update(progress: { objects: number; totalObjects: number; bytes: number; totalBytes: number }): void
  stop(): void
}

/** A cli-progress bar on `stream` (stderr) when `tty`; otherwise nothing, so pipes and CI logs stay clean. */
export function createPublishProgress(options: { stream: NodeJS.WriteStream; tty: boolean }): PublishProgressBar {
  if (!options.tty) return { update() {}, stop() {} }
  const started = Date.now()
  const bar = new cliProgress.SingleBar({ stream: options.stream, fps: 5, clearOnComplete: true, hideCursor: false, format: 'publish {bar} {value}/{total} objects  {bytes}  {rate}' }, cliProgress.Presets.shades_classic)
  let running = false
  return {
    update(progress) {
      const seconds = (Date.now() - started) / 1000
      const payload = {
        bytes: progress.totalBytes > 0 ? `${formatBytes(progress.bytes)}/${formatBytes(progress.totalBytes)}` : formatBytes(progress.bytes),
        rate: `${formatBytes(seconds > 0 ? Math.round(progress.bytes / seconds) : 0)}/s`,
      }
      if (!running) {
        bar.start(Math.max(1, progress.totalObjects), progress.objects, payload)
        // The redraw timer must not keep the process alive when a failure skips stop().
        ;(bar as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref()
        running = true
      }
      bar.setTotal(Math.max(1, progress.totalObjects))
      bar.update(progress.objects, payload)
    },
    stop() {
      if (running) bar.stop()
      running = false
    },
  }
}
