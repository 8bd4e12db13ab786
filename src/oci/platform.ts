import { ZregError } from '../errors.js'

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
  features?: string[]
}

/** What `docker pull` assumes when nothing else is said, and what old clients get from an index. */
export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' }

/** The platform an image config names (its `os`, `architecture` and `variant` fields). */
export function configPlatform(config: { os: string; architecture: string; variant?: string | undefined }): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }
}

// Node's process.arch -> the OCI architecture name (GOARCH), for the platform this machine pulls.
const ociArchitectures: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

/** The platform a client on this machine pulls by default (`os/arch` from Node's platform and arch). */
export function hostPlatform(os: string = process.platform, arch: string = process.arch): Platform {
  return { os, architecture: ociArchitectures[arch] ?? arch }
}

// Variants a platform has when none is written (containerd's normalisation).
const implicitVariant: Record<string, string> = { arm64: 'v8', arm: 'v7' }

export function parsePlatform(text: string): Platform {
  const parts = text.split('/')
  const [os, architecture, variant] = parts
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw new ZregError('USAGE', `invalid platform "${text}": expected os/arch or os/arch/variant, e.g. linux/arm64`)
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

export function formatPlatform(platform: Platform): string {
  const base = `${platform.os}/${platform.architecture}`
  return platform.variant ? `${base}/${platform.variant}` : base
}

/** True when `candidate` satisfies `wanted`; a wanted platform without variant takes any variant. */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (candidate === undefined) return false
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false
  if (wanted.variant === undefined) return true
  const candidateVariant = candidate.variant ?? implicitVariant[candidate.architecture]
  return wanted.variant === candidateVariant
}
