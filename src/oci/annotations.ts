/** The OCI annotation that names a manifest in an image layout's index.json. */
export const refNameAnnotation = 'org.opencontainers.image.ref.name'

/**
 * When zreg stored a ref (RFC 3339, UTC, whole seconds), on its descriptor in the store's index.json:
 * the image's own `org.opencontainers.image.created` says when it was built, not when the store got it.
 */
export const addedAnnotation = 'dev.zreg.added'
