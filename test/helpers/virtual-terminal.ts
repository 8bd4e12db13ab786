/**
 * A terminal that keeps what a screen would show: text, newlines, and the ANSI sequences Node's
 * readline and cli-progress write (cursor column, up/down, clear line, clear below, cursor and
 * line-wrap modes). For checking what a progress display leaves behind.
 */
export class VirtualTerminal {
  readonly isTTY = true
  readonly lines: string[] = ['']
  row = 0
  col = 0
  cursorVisible = true
  lineWrap = true
  /** Everything written, as written. */
  raw = ''

  constructor(readonly columns = 80, readonly rows = 24) {}

  private put(char: string): void {
    const line = (this.lines[this.row] ?? '').padEnd(this.col, ' ')
    this.lines[this.row] = line.slice(0, this.col) + char + line.slice(this.col + 1)
    this.col++
  }

  private newline(): void {
    this.row++
    this.col = 0
    while (this.lines.length <= this.row) this.lines.push('')
  }

  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    this.raw += text
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!
      if (char === '\n') this.newline()
      else if (char === '\r') this.col = 0
      else if (char === '\x1b') {
        const sequence = /^\x1b(?:\[(\??)(\d*)(?:;(\d*))?([A-Za-z])|([78]))/.exec(text.slice(i))
        if (!sequence) throw new Error(`unknown escape sequence ${JSON.stringify(text.slice(i, i + 8))}`)
        i += sequence[0].length - 1
        if (sequence[5]) continue // save/restore cursor: not used by what is tested
        const [, mode, first, , command] = sequence
        const n = first === '' || first === undefined ? undefined : Number(first)
        if (mode === '?') {
          const on = command === 'h'
          if (n === 25) this.cursorVisible = on
          else if (n === 7) this.lineWrap = on
          continue
        }
        switch (command) {
          case 'A':
            this.row = Math.max(0, this.row - (n ?? 1))
            break
          case 'B':
            this.row += n ?? 1
            while (this.lines.length <= this.row) this.lines.push('')
            break
          case 'C':
            this.col += n ?? 1
            break
          case 'D':
            this.col = Math.max(0, this.col - (n ?? 1))
            break
          case 'G':
            this.col = (n ?? 1) - 1
            break
          case 'K': {
            const line = this.lines[this.row] ?? ''
            if ((n ?? 0) === 0) this.lines[this.row] = line.slice(0, this.col)
            else if (n === 1) this.lines[this.row] = ' '.repeat(this.col + 1) + line.slice(this.col + 1)
            else this.lines[this.row] = ''
            break
          }
          case 'J':
            if ((n ?? 0) !== 0) throw new Error(`unsupported ESC[${n}J`)
            this.lines[this.row] = (this.lines[this.row] ?? '').slice(0, this.col)
            this.lines.length = this.row + 1
            break
          default:
            throw new Error(`unsupported escape sequence ESC[${first ?? ''}${command}`)
        }
      } else this.put(char)
    }
    callback?.()
    return true
  }

  /** The screen as text: its lines with trailing spaces and trailing empty lines dropped. */
  screen(): string[] {
    const lines = this.lines.map((line) => line.trimEnd())
    while (lines.length > 0 && lines.at(-1) === '') lines.pop()
    return lines
  }
}
