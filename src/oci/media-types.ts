/** Every media type zreg reads or writes, in one place. */
export const MediaTypes = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  OctetStream: 'application/octet-stream',
  Json: 'application/json',
} as const

export type MediaType = (typeof MediaTypes)[keyof typeof MediaTypes]

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === MediaTypes.OciIndex || mediaType === MediaTypes.DockerManifestList
}

export function isImageManifest(mediaType: string | undefined): boolean {
  return mediaType === MediaTypes.OciManifest || mediaType === MediaTypes.DockerManifest
}

export function isManifest(mediaType: string | undefined): boolean {
  return isIndex(mediaType) || isImageManifest(mediaType)
}

/** Foreign layers may live elsewhere (their `urls`); a registry need not hold them. */
export function isDistributable(mediaType: string | undefined): boolean {
  return !(
    mediaType === MediaTypes.OciLayerNondistributable ||
    mediaType === MediaTypes.OciLayerNondistributableGzip ||
    mediaType === MediaTypes.DockerForeignLayer ||
    mediaType === 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'
  )
}
