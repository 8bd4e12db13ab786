import { createRequire } from 'node:module'
import type { Ajv } from 'ajv'
import type AjvDraft04Module from 'ajv-draft-04'

/** The module, beside validate.js in dist/src/oci/, that holds every schema's compiled validator (package.json names it `#compiled-schemas`). */
export const compiledSchemasFile = 'compiled-schemas.cjs'

/** The schemas zreg validates against, by the name the code uses, and their $id. */
export const schemaIds = {
  'oci-manifest': 'https://opencontainers.org/schema/image/manifest',
  'oci-index': 'https://opencontainers.org/schema/image/index',
  'oci-config': 'https://opencontainers.org/schema/image/config',
  'docker-manifest': 'https://zreg.dev/schema/docker/manifest-v2-schema2.json',
  'docker-manifest-list': 'https://zreg.dev/schema/docker/manifest-list-v2.json',
  'zreg-config': 'https://zreg.dev/schema/zreg-config.json',
  'sync-file': 'https://zreg.dev/schema/sync-file.json',
} as const

export type SchemaName = keyof typeof schemaIds

const ociBase = 'https://opencontainers.org/schema/'

/**
 * The ajv instances holding every schema of the package's schemas/ directory (the compiled module of
 * this file lives in dist/src/oci/, three levels below the package root): the OCI schemas in a
 * draft-04 instance, the others in a draft-07 one (ajv's default). `code.source` keeps each validator's source,
 * for ajv's standalone code.
 */
export function schemaInstances(): { oci: Ajv; modern: Ajv } {
  const requireSchema = createRequire(new URL('../../../schemas/', import.meta.url))
  const requireModule = createRequire(import.meta.url)
  const { Ajv } = requireModule('ajv') as typeof import('ajv')
  // ajv-draft-04's class is its default export.
  const AjvDraft04 = (requireModule('ajv-draft-04') as typeof AjvDraft04Module).default
  const common = { allErrors: true, validateFormats: false, code: { source: true } }
  // The OCI schemas are draft-04; their "format"s are informative (zreg checks digests itself) and
  // defs.json uses the non-standard "media" keyword.
  const oci = new AjvDraft04(common)
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
  const modern = new Ajv({ ...common, allowUnionTypes: true })
  modern.addSchema(requireSchema('./docker/manifest-v2-schema2.json') as object)
  modern.addSchema(requireSchema('./docker/manifest-list-v2.json') as object)
  modern.addSchema(requireSchema('./zreg-config.json') as object)
  modern.addSchema(requireSchema('./sync-file.json') as object)
  return { oci, modern }
}
