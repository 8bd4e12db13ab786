import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { rawRequest, type RawResponse } from './http.js'
import type { FixtureImage } from './paths.js'

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const allManifests = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'
const long = ['l'.repeat(60), 'o'.repeat(60), 'n'.repeat(60), 'g'.repeat(72)].join('/')
export const deep = 'd1/d2/d3/d4/d5/d6/d7/d8/d9'
const tag128 = `T${'a'.repeat(127)}`

export interface Case {
  path: string
  accept?: string
  method?: string
  status: number
  /** The manifest or blob digest a 200 carries, or the OCI error code a 404 carries. */
  digest?: string
  code?: string
  body?: unknown
  /** The Content-Type a 200 carries, with no Content-Encoding beside it (Apache may add a harmless Content-Language). */
  contentType?: string
}

export async function checkCase(server: string, base: string, expected: Case): Promise<void> {
  const response: RawResponse = await rawRequest(base, expected.method ?? 'GET', expected.path, expected.accept ? { Accept: expected.accept } : {})
  const what = `${server}: ${expected.method ?? 'GET'} ${expected.path}${expected.accept ? ' (accepting indexes)' : ''}`
  assert.equal(response.status, expected.status, `${what}: ${response.body.toString().slice(0, 200)}`)
  if (expected.digest) {
    assert.equal(response.headers['docker-content-digest'], expected.digest, what)
    if (expected.method !== 'HEAD') assert.equal(sha256(response.body), expected.digest, what)
  }
  if (expected.code) {
    assert.match(String(response.headers['content-type']), /^application\/json/, what)
    assert.equal((JSON.parse(response.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, expected.code, what)
  }
  if (expected.body !== undefined) assert.deepEqual(JSON.parse(response.body.toString()), expected.body, what)
  if (expected.contentType !== undefined) {
    assert.equal(response.headers['content-type'], expected.contentType, what)
    assert.equal(response.headers['content-encoding'], undefined, `${what}: Content-Encoding`)
  }
}

/**
 * Tags that end in what a web server takes for a file extension: a script (PHP, CGI, server-side
 * includes), a type map, a compression or a language. Each must be served as the manifest it is, never
 * run, never given an encoding (a client would try to decompress it).
 */
const extensionTags = ['x.php', 'x.phtml', 'x.cgi', 'x.pl', 'x.shtml', 'x.var', 'x.gz', 'x.br', 'x.en', 'index.html', 'x.json', 'x.map']


/** The images (fixture id, name:tag) the adversarial tree holds beside whatever else it has. */
export const adversarialImages: [string, string][] = [
  ['oci/single', 'cases/app:v1.0-rc1'],
  ['oci/multi-layer', 'cases/app:v1.0-RC1'],
  ['oci/single', 'cases/latest:Latest'],
  ['oci/multi-arch', 'cases/index:Latest'],
  ['oci/single', 'a.b:v1.0'],
  ['oci/single', 'x__y/dash-ed/under_score:v1.0.0-...'],
  ['oci/single', `${deep}:_x`],
  ['oci/single', `${long}:${tag128}`],
  ['oci/multi-layer', `${long}:${tag128.toLowerCase()}`],
  ['oci/single', 'default:1'],
  ['oci/multi-layer', 'include:default'],
  ...extensionTags.map((tag): [string, string] => ['oci/single', `ext/app:${tag}`]),
]

/**
 * Tags that differ only in case, tags that look like regular expressions, names that are nginx map
 * keywords, 128-character tags on a 255-character name, deep names: what every server of a tree holding
 * adversarialImages answers, exactly; unknown names (another case, another repository) 404 with the OCI
 * error body.
 */
export function adversarialCases(image: (id: string) => FixtureImage): Case[] {
  const single = image('oci/single').digest!
  const multiLayer = image('oci/multi-layer').digest!
  const multiArch = image('oci/multi-arch').digest!
  const layer = image('oci/single').blobs!.find((blob) => blob !== image('oci/single').configDigest)!
  const cases: Case[] = [
    // Tags that differ only in case are two tags.
    { path: '/v2/cases/app/manifests/v1.0-rc1', accept: allManifests, status: 200, digest: single },
    { path: '/v2/cases/app/manifests/v1.0-RC1', accept: allManifests, status: 200, digest: multiLayer },
    { path: '/v2/cases/app/manifests/v1.0-rc1', status: 200, digest: single },
    { path: '/v2/cases/app/manifests/V1.0-rc1', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/cases/app/manifests/v1x0-rc1', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/cases/app/tags/list', status: 200, body: { name: 'cases/app', tags: ['v1.0-RC1', 'v1.0-rc1'] } },
    // Only `Latest`: `latest` is unknown, whatever the client accepts.
    { path: '/v2/cases/latest/manifests/Latest', accept: allManifests, status: 200, digest: single },
    { path: '/v2/cases/latest/manifests/latest', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/cases/latest/manifests/latest', status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/cases/latest/manifests/LATEST', method: 'HEAD', status: 404 },
    { path: '/v2/cases/index/manifests/Latest', accept: allManifests, status: 200, digest: multiArch },
    { path: '/v2/cases/index/manifests/latest', status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/cases/index/manifests/latest', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    // Names and tags that look like regular expressions match only themselves.
    { path: '/v2/a.b/manifests/v1.0', accept: allManifests, status: 200, digest: single },
    { path: `/v2/a.b/blobs/${layer}`, status: 200, digest: layer },
    { path: '/v2/axb/manifests/v1.0', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/axb/tags/list', status: 404, code: 'NAME_UNKNOWN' },
    { path: '/v2/a.b/manifests/v1X0', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/x__y/dash-ed/under_score/manifests/v1.0.0-...', accept: allManifests, status: 200, digest: single },
    { path: '/v2/x__y/dash-ed/under_score/manifests/v1.0.0-abc', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: '/v2/x__y/dash-ed/under_score/tags/list', status: 200, body: { name: 'x__y/dash-ed/under_score', tags: ['v1.0.0-...'] } },
    // Deep and long names, 128-character tags differing in case.
    { path: `/v2/${deep}/manifests/_x`, accept: allManifests, status: 200, digest: single },
    { path: `/v2/${deep}/tags/list`, status: 200, body: { name: deep, tags: ['_x'] } },
    { path: `/v2/${long}/manifests/${tag128}`, accept: allManifests, status: 200, digest: single },
    { path: `/v2/${long}/manifests/${tag128.toLowerCase()}`, accept: allManifests, status: 200, digest: multiLayer },
    { path: `/v2/${long}/manifests/${tag128.toUpperCase()}`, accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: `/v2/${long}/tags/list`, status: 200, body: { name: long, tags: [tag128, tag128.toLowerCase()] } },
    // Names that are nginx map keywords are names like any other; unknown names stay unknown.
    { path: '/v2/default/manifests/1', accept: allManifests, status: 200, digest: single },
    { path: '/v2/include/manifests/default', accept: allManifests, status: 200, digest: multiLayer },
    { path: '/v2/nosuch/tags/list', status: 404, code: 'NAME_UNKNOWN' },
    { path: '/v2/nosuch/manifests/1', accept: allManifests, status: 404, code: 'MANIFEST_UNKNOWN' },
    { path: `/v2/nosuch/blobs/${layer}`, status: 404, code: 'BLOB_UNKNOWN' },
    // Repository names are lowercase: another case is no repository, never another's content.
    { path: '/v2/CASES/APP/tags/list', status: 404, code: 'NAME_UNKNOWN' },
    { path: '/v2/Default/manifests/1', accept: allManifests, status: 404, code: 'NAME_UNKNOWN' },
    { path: '/v2/Cases/app/manifests/v1.0-rc1', status: 404, code: 'NAME_UNKNOWN' },
    { path: `/v2/A.B/blobs/${layer}`, status: 404, code: 'NAME_UNKNOWN' },
    { path: `/v2/Cases/app/referrers/${single}`, status: 404, code: 'NAME_UNKNOWN' },
    // Tags that look like file extensions are manifests like any other.
    ...extensionTags.map((tag): Case => ({ path: `/v2/ext/app/manifests/${tag}`, accept: allManifests, status: 200, digest: single, contentType: 'application/vnd.oci.image.manifest.v1+json' })),
    { path: '/v2/ext/app/tags/list', status: 200, body: { name: 'ext/app', tags: [...extensionTags].sort() } },
  ]
  return cases
}
