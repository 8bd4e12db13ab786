import { ZregError } from '../errors.js'

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * A duration as a user writes it, in milliseconds: `90s`, `10m`, `1h30m`, `2d`; a bare number is
 * seconds. USAGE naming `flag` for anything else.
 */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)]
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new ZregError('USAGE', `${flag} ${JSON.stringify(text)} is not a duration: write e.g. 0, 90s, 10m, 1h30m or 2d`)
  }
  return parts.reduce((sum, part) => sum + Number(part[1]) * units[part[2]!]!, 0)
}
