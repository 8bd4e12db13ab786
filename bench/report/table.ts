import type { Row } from './rows.js'

/** A figure with `digits` decimals (default: 0 from 100 up, 1 from 10, else 2), thousands separated; '-' for none. */
function formatFigure(value: number | undefined, digits: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-'
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

/** The summary table (`metric | zreg | nginx | distribution | ratio | target | pass/fail`, figures right-aligned), then each row's note. */
export function summaryTable(rows: readonly Row[]): string {
  const header = ['metric', 'zreg', 'nginx', 'distribution', 'ratio', 'target', 'pass/fail']
  const lines = rows.map((r) => [
    r.metric,
    formatFigure(r.zreg, r.digits),
    formatFigure(r.nginx, r.digits),
    formatFigure(r.distribution, r.digits),
    r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x${r.ratioNote ? ` (${r.ratioNote})` : ''}`,
    r.target ?? '',
    r.verdict,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const numeric = new Set([1, 2, 3, 4])
  const render = (cells: string[]) => `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`
  const out = [render(header), `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...lines.map(render)]
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.metric}: ${r.note}`)
  return `${out.join('\n')}\n${notes.length ? `notes:\n${notes.join('\n')}\n` : ''}`
}
