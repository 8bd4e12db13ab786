/** The OCI annotation that names a manifest in an image layout's index.json. */
export const refNameAnnotation = 'org.opencontainers.image.ref.name'
