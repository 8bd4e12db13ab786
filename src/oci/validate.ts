import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import type AjvDraft04Module from 'ajv-draft-04'
import { ZregError, type ErrorCode } from '../errors.js'

// Schemas ship as JSON files in the package's schemas/ directory; loading them is module loading, not I/O
// on user data. The compiled module lives in dist/src/oci/, three levels below the package root.
const requireSchema = createRequire(new URL('../../../schemas/', import.meta.url))

// ajv and ajv-draft-04 are CommonJS, so they load synchronously on first use rather than with every
// command (about 55 ms); ajv-draft-04's class is its default export.
const requireModule = createRequire(import.meta.url)

const schemaIds = {
  'oci-manifest': 'https://opencontainers.org/schema/image/manifest',
  'oci-index': 'https://opencontainers.org/schema/image/index',
  'oci-config': 'https://opencontainers.org/schema/image/config',
  'docker-manifest': 'https://zreg.dev/schema/docker/manifest-v2-schema2.json',
  'docker-manifest-list': 'https://zreg.dev/schema/docker/manifest-list-v2.json',
  'zreg-config': 'https://zreg.dev/schema/zreg-config.json',
  'sync-file': 'https://zreg.dev/schema/sync-file.json',
} as const

export type SchemaName = keyof typeof schemaIds

/** The schemas' ajv instances, made on first use; each schema is compiled when first used. */
let instances: { oci: Ajv; modern: Ajv } | undefined
const validators = new Map<SchemaName, ValidateFunction>()

const ociBase = 'https://opencontainers.org/schema/'

function loadSchemas(): { oci: Ajv; modern: Ajv } {
  const { Ajv } = requireModule('ajv') as typeof import('ajv')
  const AjvDraft04 = (requireModule('ajv-draft-04') as typeof AjvDraft04Module).default
  // The OCI schemas are draft-04; their "format"s are informative (zreg checks digests itself) and
  // defs.json uses the non-standard "media" keyword.
  const oci = new AjvDraft04({ allErrors: true, validateFormats: false })
  oci.addKeyword('media')
  // Their $refs resolve against the nearest sub-schema id, so the shared definitions answer at each base.
  const defs = requireSchema('./oci/defs.json') as object
  const descriptorDefs = requireSchema('./oci/defs-descriptor.json') as object
  for (const base of ['', 'image/', 'descriptor/', 'image/manifest/', 'image/index/', 'image/descriptor/']) {
    oci.addSchema(defs, `${ociBase}${base}defs.json`)
    oci.addSchema(descriptorDefs, `${ociBase}${base}defs-descriptor.json`)
  }
  const contentDescriptor = requireSchema('./oci/content-descriptor.json') as object
  oci.addSchema(contentDescriptor)
  oci.addSchema(contentDescriptor, `${ociBase}image/content-descriptor.json`)
  for (const file of ['image-manifest-schema.json', 'image-index-schema.json', 'config-schema.json']) {
    oci.addSchema(requireSchema(`./oci/${file}`) as object)
  }
  const modern = new Ajv({ allErrors: true, validateFormats: false, allowUnionTypes: true })
  modern.addSchema(requireSchema('./docker/manifest-v2-schema2.json') as object)
  modern.addSchema(requireSchema('./docker/manifest-list-v2.json') as object)
  modern.addSchema(requireSchema('./zreg-config.json') as object)
  modern.addSchema(requireSchema('./sync-file.json') as object)
  return { oci, modern }
}

/**
 * The compiled validator of one schema. Compiled on first use: a command needs one or two of them,
 * and compiling all six took about 230 ms of a `zreg add` before its first layer started.
 */
function validatorOf(name: SchemaName): ValidateFunction {
  let validator = validators.get(name)
  if (validator === undefined) {
    instances ??= loadSchemas()
    const id = schemaIds[name]
    validator = (name.startsWith('oci-') ? instances.oci.getSchema(id) : instances.modern.getSchema(id)) as ValidateFunction | undefined
    if (!validator) throw new ZregError('INTERNAL', `schema ${id} is not loaded`)
    validators.set(name, validator)
  }
  return validator
}

/** ajv's complaint with what it leaves in `params`: the unknown key, the allowed values, the missing property. */
function describeOne(error: ErrorObject): string {
  const where = error.instancePath || '(root)'
  const params = error.params as { additionalProperty?: string; allowedValues?: unknown[]; missingProperty?: string }
  if (error.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    const key = error.instancePath ? `${error.instancePath}/${params.additionalProperty}` : `/${params.additionalProperty}`
    return `${key} is not a known key${error.instancePath ? ` of ${error.instancePath}` : ''}`
  }
  if (error.keyword === 'enum' && params.allowedValues) return `${where} must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`
  return `${where} ${error.message ?? 'is invalid'}`
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 5).map(describeOne).join('; ')
}

/** Compiles the schemas now (about 150 ms), so a long-running server does not pay it on its first request. */
export function compileSchemas(): void {
  for (const name of Object.keys(schemaIds) as SchemaName[]) validatorOf(name)
}

/** ajv's complaints about `value` against the named schema (every one: the instance has allErrors); [] when it satisfies it. */
export function schemaErrors(name: SchemaName, value: unknown): ErrorObject[] {
  const validator = validatorOf(name)
  return validator(value) ? [] : [...(validator.errors ?? [])]
}

/** Throws `code` with the schema's complaints unless `value` satisfies the named schema. */
export function validateAgainstSchema(name: SchemaName, value: unknown, code: ErrorCode, what: string): void {
  const validator = validatorOf(name)
  if (!validator(value)) {
    throw new ZregError(code, `${what} fails its schema: ${describe(validator.errors)}`, { detail: validator.errors })
  }
}
