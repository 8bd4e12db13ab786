import { createRequire } from 'node:module'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { ZregError, type ErrorCode } from '../errors.js'
import { compiledSchemasFile, schemaIds, type SchemaName } from './schema-set.js'

export type { SchemaName } from './schema-set.js'

// The validators are ajv's standalone code, written at build time (see compile-schemas.ts): requiring
// that module takes a few milliseconds where compiling the schemas took 100-150 ms of every command.
// Named through package.json's "imports", as the workers are: the CLI runs this code from a bundle in
// another directory (dist/bundle), where a path relative to this module would miss it.
const requireModule = createRequire(import.meta.url)

let validators: Record<SchemaName, ValidateFunction> | undefined

function validatorOf(name: SchemaName): ValidateFunction {
  validators ??= requireModule('#compiled-schemas') as Record<SchemaName, ValidateFunction>
  const validator = validators[name]
  if (typeof validator !== 'function') throw new ZregError('INTERNAL', `schema ${schemaIds[name]} is not in ${compiledSchemasFile} (npm run build writes it)`)
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

/** Loads the validators now, so a long-running server does not pay it on its first request. */
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
