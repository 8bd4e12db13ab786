import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Ajv } from 'ajv'
import { compiledSchemasFile, schemaIds, schemaInstances, type SchemaName } from './schema-set.js'

/**
 * Build step (npm run build, after tsc): writes ajv's standalone code for every schema of
 * schema-set.ts beside this file, as compiled-schemas.cjs, a CommonJS module exporting each validator
 * under its SchemaName. standaloneCode makes one module per ajv instance; compiled-schemas.cjs joins the two.
 */
function compileSchemas(): void {
  const requireModule = createRequire(import.meta.url)
  const standaloneCode = (requireModule('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default
  const { oci, modern } = schemaInstances()
  const names = Object.keys(schemaIds) as SchemaName[]
  const pick = (oci: boolean) => Object.fromEntries(names.filter((name) => name.startsWith('oci-') === oci).map((name) => [name, schemaIds[name]]))
  const parts = { oci: standaloneCode(oci, pick(true)), modern: standaloneCode(modern, pick(false)) }
  const here = new URL('./', import.meta.url)
  for (const [part, code] of Object.entries(parts)) writeFileSync(new URL(`compiled-schemas-${part}.cjs`, here), code)
  writeFileSync(new URL(compiledSchemasFile, here), `"use strict";\nmodule.exports = { ...require("./compiled-schemas-oci.cjs"), ...require("./compiled-schemas-modern.cjs") };\n`)
}

compileSchemas()
