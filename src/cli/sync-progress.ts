import cliProgress from 'cli-progress'
import { formatBytes } from './base-command.js'

/**
 * What `zreg sync` shows while it runs. On a terminal: a total line (images done of all, bytes, rate)
 * and one line per image in flight (bytes done of its total, rate); a finished image's line gives way
 * to a plain log line above the bars. Elsewhere (a pipe, a CI log, --json): the plain lines only.
 */
export interface SyncProgress {
  /** An image starts; `label` names it on its line (e.g. "docker.io/library/busybox:1.36"). */
  imageStarted(id: string, label: string): void
  /** `bytes`: the image's bytes fetched so far, cumulative; `totalBytes` once known. */
  imageBytes(id: string, bytes: number, totalBytes?: number): void
  /** The image is done: its bar goes, and `line` (see syncedLine, unchangedLine, failedLine) is written. */
  imageFinished(id: string, line: string): void
  /** Removes the bars and restores the terminal; call it once, also when the sync fails or is interrupted. */
  stop(): void
}

/** "synced SOURCE -> TARGET (3 blobs, 2.1 MiB)": an image whose content was fetched. */
export function syncedLine(source: string, target: string, blobs: number, bytes: number): string {
  return `synced ${source} -> ${target} (${blobs} ${blobs === 1 ? 'blob' : 'blobs'}, ${formatBytes(bytes)})`
}

/** "unchanged SOURCE -> TARGET": the store already held the image. */
export function unchangedLine(source: string, target: string): string {
  return `unchanged ${source} -> ${target}`
}

/** "failed SOURCE: MESSAGE": the image could not be mirrored (the others go on). */
export function failedLine(source: string, message: string): string {
  return `failed ${source}: ${message}`
}

/** Plain lines, one per finished image: what a log file or CI output keeps. */
class PlainProgress implements SyncProgress {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  imageStarted(): void {}
  imageBytes(): void {}
  imageFinished(_id: string, line: string): void {
    this.stream.write(`${line}\n`)
  }
  stop(): void {}
}

const barWidth = 20

function bar(done: number, total: number | undefined): string {
  if (total === undefined || total <= 0) return ' '.repeat(barWidth)
  const filled = Math.min(barWidth, Math.floor((done / total) * barWidth))
  return '█'.repeat(filled) + '░'.repeat(barWidth - filled)
}

function rate(bytes: number, since: number): string {
  const seconds = (Date.now() - since) / 1000
  return `${formatBytes(seconds > 0 ? Math.round(bytes / seconds) : 0)}/s`
}

/** Fits a line into `width` columns, shortening the label (its start goes, its tag stays). */
function fit(label: string, rest: string, width: number): string {
  const room = width - 1 - rest.length - 1
  if (label.length <= room) return `${label} ${rest}`
  if (room < 4) return `${label} ${rest}`.slice(0, Math.max(0, width - 1))
  return `…${label.slice(label.length - room + 1)} ${rest}`
}

interface ImageLine {
  bar: cliProgress.SingleBar
  label: string
  bytes: number
  total: number | undefined
  started: number
}

/** cli-progress bars: the total on top, then one bar per image in flight. */
class TerminalProgress implements SyncProgress {
  private readonly multibar: cliProgress.MultiBar
  private readonly total: cliProgress.SingleBar
  private readonly images = new Map<string, ImageLine>()
  private readonly started = Date.now()
  private imagesDone = 0
  /** Bytes of images that finished; those in flight add theirs. */
  private bytesFinished = 0
  private stopped = false

  constructor(stream: NodeJS.WriteStream, private readonly totalImages: number) {
    // The cursor stays visible and line wrapping on: a crash before stop() leaves a usable terminal.
    this.multibar = new cliProgress.MultiBar({ stream, fps: 5, clearOnComplete: true, hideCursor: false, linewrap: true, format: (_options, params, payload: { render: (width: number) => string }) => payload.render(params.maxWidth) })
    // The redraw timer must not keep the process alive when a failure skips stop().
    const unref = (): void => void (this.multibar as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref()
    this.multibar.on('update-post', unref)
    this.total = this.multibar.create(Math.max(1, totalImages), 0, { render: (width: number) => this.renderTotal(width) })
    unref()
  }

  private bytesNow(): number {
    let bytes = this.bytesFinished
    for (const image of this.images.values()) bytes += image.bytes
    return bytes
  }

  private renderTotal(width: number): string {
    const bytes = this.bytesNow()
    return fit('total', `${bar(this.imagesDone, this.totalImages)} ${this.imagesDone}/${this.totalImages} images  ${formatBytes(bytes)}  ${rate(bytes, this.started)}`, width)
  }

  private renderImage(image: ImageLine, width: number): string {
    const size = image.total === undefined ? formatBytes(image.bytes) : `${formatBytes(image.bytes)}/${formatBytes(image.total)}`
    return fit(image.label, `${bar(image.bytes, image.total)} ${size}  ${rate(image.bytes, image.started)}`, width)
  }

  imageStarted(id: string, label: string): void {
    if (this.stopped || this.images.has(id)) return
    const image: ImageLine = { label, bytes: 0, total: undefined, started: Date.now(), bar: undefined as unknown as cliProgress.SingleBar }
    image.bar = this.multibar.create(1, 0, { render: (width: number) => this.renderImage(image, width) })
    this.images.set(id, image)
  }

  imageBytes(id: string, bytes: number, totalBytes?: number): void {
    const image = this.images.get(id)
    if (this.stopped || !image) return
    image.bytes = bytes
    if (totalBytes !== undefined) image.total = totalBytes
    image.bar.update(image.total === undefined ? 0 : Math.min(1, bytes / Math.max(1, image.total)))
  }

  imageFinished(id: string, line: string): void {
    if (this.stopped) return
    const image = this.images.get(id)
    this.imagesDone++
    this.multibar.log(`${line}\n`)
    if (image) {
      this.images.delete(id)
      this.bytesFinished += image.bytes
      this.multibar.remove(image.bar)
    }
    this.total.update(this.imagesDone)
    // remove() redraws at once; without a bar to remove, redraw now so the line is not held back.
    if (!image) this.multibar.update()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.multibar.update() // writes log lines still buffered
    this.multibar.stop()
  }
}

/**
 * The progress display for `zreg sync` on `stream` (stderr): bars when `tty` (a terminal, and not
 * --json), plain lines otherwise. `totalImages`: the images the run will mirror, for the total line.
 */
export function createSyncProgress(options: { stream: NodeJS.WriteStream; tty: boolean; totalImages: number }): SyncProgress {
  return options.tty ? new TerminalProgress(options.stream, options.totalImages) : new PlainProgress(options.stream)
}
