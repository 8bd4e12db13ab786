import { createHash, type Hash } from 'node:crypto'
import { ZregError } from '../errors.js'

declare const digestBrand: unique symbol
/** A validated `algorithm:hex` digest. Only parseDigest() and hashing make one, so an unchecked string never reaches a path. */
export type Digest = string & { readonly [digestBrand]: true }

const encodedPattern: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
}

export function isDigest(value: string): value is Digest {
  const colon = value.indexOf(':')
  if (colon <= 0) return false
  const pattern = encodedPattern[value.slice(0, colon)]
  return pattern !== undefined && pattern.test(value.slice(colon + 1))
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) {
    throw new ZregError('DIGEST_INVALID', `"${value}" is not a valid digest (expected sha256:<64 hex> or sha512:<128 hex>)`)
  }
  return value
}

export function digestAlgorithm(digest: Digest): string {
  return digest.slice(0, digest.indexOf(':'))
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1)
}

export function digestOf(bytes: Uint8Array | string, algorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest
}

/** Hashes and counts bytes as they pass, so a stream is verified without being buffered. */
export class DigestCounter {
  readonly algorithm: string
  private readonly hash: Hash
  size = 0

  constructor(algorithm = 'sha256') {
    this.algorithm = algorithm
    this.hash = createHash(algorithm)
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk)
    this.size += chunk.length
  }

  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest
  }
}
