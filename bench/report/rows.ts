/** One line of the summary table, as results.json records it under `rows`. */
export interface Row {
  metric: string
  unit: string
  /** The zreg column: zreg's figure, or the figure of the server or tool the metric names. */
  zreg: number | undefined
  nginx: number | undefined
  distribution: number | undefined
  ratio: number | undefined
  /** What the ratio divides, when not zreg/other (`dist/zreg`). */
  ratioNote: string | undefined
  target: string
  /** PASS, FAIL, n/a (no figure) or info; `(invalid run)` appended when the run's checks failed. */
  verdict: string
  /** Decimals printed (default: by magnitude). */
  digits: number | undefined
  note: string | undefined
}

/** What a phase says about a row; `pass` judges `subject` when given, else the ratio when there is one, else the zreg column. */
export interface RowSpec {
  zreg?: number | undefined
  nginx?: number | undefined
  distribution?: number | undefined
  ratio?: number | undefined
  ratioNote?: string | undefined
  target: string
  /** The target as a test; none: an info row. */
  pass?: ((value: number) => boolean) | undefined
  /** False when the run's checks failed (wrong bytes, errors): a verdict is then marked invalid. */
  valid: boolean
  unit: string
  digits?: number | undefined
  note?: string | undefined
  subject?: number | undefined
}

/** a / b, or undefined when either is missing or b is not positive. */
export function ratioOf(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined
}

/** A table row with its verdict. */
export function row(metric: string, spec: RowSpec): Row {
  const { zreg, nginx, distribution, ratio, ratioNote, target, pass, valid, unit, digits, note, subject: judged } = spec
  let verdict = 'info'
  if (pass) {
    const subject = judged !== undefined ? judged : ratio !== undefined ? ratio : zreg
    if (subject === undefined) verdict = 'n/a'
    else verdict = pass(subject) ? 'PASS' : 'FAIL'
    if (!valid && verdict !== 'n/a') verdict += ' (invalid run)'
  }
  return { metric, unit, zreg, nginx, distribution, ratio, ratioNote, target, verdict, digits, note }
}
