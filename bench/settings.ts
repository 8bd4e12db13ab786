/** The phases, in the order `--only` lists them (they run in the order run.ts gives). */
export const phaseNames = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] as const

export type PhaseName = (typeof phaseNames)[number]

export interface BenchOptions {
  /** Tiny durations and sizes: checks the suite works, figures only indicative. */
  quick: boolean
  only: ReadonlySet<PhaseName>
  /** --help was asked: print the usage and run nothing. */
  help: boolean
}

export const usage = `usage: node dist/bench/run.js [--quick] [--only ${phaseNames.join(',')}]\n`

function isPhaseName(name: string): name is PhaseName {
  return (phaseNames as readonly string[]).includes(name)
}

/** `--quick`, `--only a,d` (or `--only=a,d`), `--help`; throws on anything else. */
export function parseOptions(argv: string[]): BenchOptions {
  const options: BenchOptions = { quick: false, only: new Set(phaseNames), help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--quick') options.quick = true
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length)
      const parts = (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
      const bad = parts.filter((p) => !isPhaseName(p))
      if (parts.length === 0 || bad.length > 0) throw new Error(`--only takes a comma-separated list of ${phaseNames.join(',')} (got ${value})`)
      options.only = new Set(parts.filter(isPhaseName))
    } else if (arg === '--help' || arg === '-h') options.help = true
    else throw new Error(`unknown argument ${arg}`)
  }
  return options
}

/** Durations, sizes and round counts of a run; results.json records them under `settings`. */
export interface BenchSettings {
  /** wrk's measured run and its warm-up before it, seconds. */
  wrkSeconds: number
  wrkWarmupSeconds: number
  manifestConnections: number
  blobConnections: number
  /** skopeo pulls per image and server (b). */
  pullRounds: { img50: number; img300: number }
  /** (c): concurrent curl clients of the 300 MiB blob, and the rate-limited run's per-client rate and length. */
  memoryClients: number
  memorySlowRate: string
  memorySlowSeconds: number
  /** (d): the store's shape and its two layer sizes, bytes. */
  scaleRepositories: number
  scaleTagsPerRepository: number
  scaleBigLayerBytes: number
  scaleSmallLayerBytes: number
  /** (d) at 10x: repositories of the large store (10 tags each). */
  largeScaleRepositories: number
  fullBuildRuns: number
  rebuildRuns: number
  /** (e): a fresh, empty server for every push and upload. */
  pushRounds: number
  uploadRounds: number
  uploadChunks: number
  /**
   * (g): the reference registry holds one big image and mirrorTags tags of bench/many, which point to
   * mirrorDistinctImages distinct small images. Full runs mirror img300 (6 x 50 MiB); quick runs a
   * 6-layer image of mirrorQuickLayerBytes layers.
   */
  mirrorTags: number
  mirrorDistinctImages: number
  mirrorQuickLayerBytes: number
}

export function benchSettings(quick: boolean): BenchSettings {
  return {
    wrkSeconds: quick ? 2 : 10,
    wrkWarmupSeconds: quick ? 1 : 2,
    manifestConnections: 64,
    blobConnections: 8,
    // Pulls are client-bound and vary by +-15% run to run: more rounds for the short one.
    pullRounds: { img50: quick ? 1 : 7, img300: quick ? 1 : 5 },
    memoryClients: 8,
    memorySlowRate: '16M',
    memorySlowSeconds: quick ? 3 : 10,
    scaleRepositories: quick ? 100 : 1000,
    scaleTagsPerRepository: 10,
    scaleBigLayerBytes: 20 * 1024 * 1024,
    scaleSmallLayerBytes: 1024,
    largeScaleRepositories: quick ? 1000 : 10000,
    fullBuildRuns: quick ? 2 : 3,
    rebuildRuns: quick ? 3 : 5,
    pushRounds: quick ? 1 : 3,
    uploadRounds: quick ? 1 : 5,
    uploadChunks: 4,
    mirrorTags: quick ? 20 : 200,
    mirrorDistinctImages: quick ? 5 : 20,
    mirrorQuickLayerBytes: 4 * 1024 * 1024,
  }
}
