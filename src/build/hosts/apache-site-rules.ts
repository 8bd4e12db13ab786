import { isAbsolute } from 'node:path'
import { ZregError } from '../../errors.js'
import { MediaTypes } from '../../oci/media-types.js'
import { repositorySource } from '../../oci/reference.js'
import { immutableCacheControl, mutableCacheControl } from '../cache-control.js'
import type { HostAuth } from './host-auth.js'

/** Digests as the tree names blob, manifest and referrers files. */
const digestSource = '(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})'
const repository = `/v2/(${repositorySource})`
/** A DNS name as containerd's ?ns= names a registry (a port is matched apart), as in the nginx configuration. */
const hostSource = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*'
/** ?ns=<host>[:port] and the request path, as one test string (QUERY_STRING#REQUEST_URI). */
const mirrorSource = (port: boolean) =>
  `^(?:[^#]*&)?ns=(${hostSource})${port ? '(?::|%3[aA])([0-9]{1,5})' : ''}(?:&[^#]*)?#${repository}/((?:manifests|blobs|tags|referrers)/[^/]+)$`

/**
 * `root` as Apache and mod_rewrite take it: absolute, and quoted, so it may hold spaces; a quote, a line
 * break, or the `%` and `$` mod_rewrite expands would change the rules (USAGE).
 */
export function apacheRoot(root: string): string {
  if (!isAbsolute(root) || /["%$\n\r\\]/.test(root)) {
    throw new ZregError('USAGE', `--root ${JSON.stringify(root)} cannot be used in an Apache configuration: it must be an absolute path without quotes, "%", "$", backslashes or line breaks; deploy the tree at such a path`)
  }
  return root === '/' ? root : root.replace(/\/+$/, '')
}

/**
 * The rules both Apache host kinds share, for a directory context (a `<Directory>` of the tree's root,
 * or the `.htaccess` there): the registry read API (distribution-spec "Pulling") over the literal tree
 * deployed at `root`, the URL root of the host. They run before the per-repository rules zreg build
 * writes in each `manifests/` directory (RewriteOptions InheritDownBefore), which set Content-Type and
 * ZREG_DIGEST per manifest. Everything missing is answered here, with the OCI error body the
 * generation holds (`.zreg/errors/<CODE>.json`). Environment variables carry the answer's kind to the
 * Header lines: an internal redirect (an error document, the default platform's manifest) renames
 * them REDIRECT_*, so the redirected answer sets its own.
 */
export function apacheSiteRules(root: string, cacheMaxAge: number, auth?: HostAuth): string {
  const r = apacheRoot(root).replace(/\/$/, '')
  return `# Every file of the tree is data. A tag may end in .php, .cgi, .shtml, .var or .gz, and a manifest's
# annotations may hold anything: whatever the host maps those extensions to, nothing here runs as a
# script or a type map (the FilesMatch outdoes a host's own, as php-fpm's), and nothing gets a
# compression encoding a client would try to undo. (The Options line beside these rules turns off
# CGI and server-side includes.)
SetHandler default-handler
<FilesMatch ".">
    SetHandler default-handler
</FilesMatch>
RemoveEncoding .gz .tgz .z .bz2 .br .xz .zst .lz .lzma .deflate
# No listings, index files or content negotiation: the rules below say what each path answers.
DirectoryIndex disabled
DirectorySlash Off
AcceptPathInfo Off
# Every 404 names its OCI code in ZREG_ERROR (NAME_UNKNOWN unless a rule says otherwise).
SetEnvIf Request_URI ^ ZREG_ERROR=NAME_UNKNOWN
ErrorDocument 404 /.zreg/errors/%{reqenv:ZREG_ERROR}.json
ErrorDocument 405 /.zreg/errors/UNSUPPORTED.json

Header always set Docker-Distribution-API-Version registry/2.0
Header set Docker-Content-Digest %{ZREG_DIGEST}e env=ZREG_DIGEST
# Error answers carry no cache lifetime: only answers a rule marked get one.
Header set Cache-Control "${immutableCacheControl}" env=ZREG_IMMUTABLE
Header set Cache-Control "${mutableCacheControl(cacheMaxAge)}" env=ZREG_MUTABLE
Header merge Vary Accept env=ZREG_VARY
# A blob's redirect lasts until a build changes the rules, as tags do.
Header always set Cache-Control "${mutableCacheControl(cacheMaxAge)}" env=ZREG_REDIRECT

RewriteEngine On
# The per-repository rules in manifests/.htaccess come after these, for every request.
RewriteOptions InheritDownBefore
# An error document (ErrorDocument's internal redirect) is sent as it is.
RewriteCond %{ENV:REDIRECT_STATUS} ^[45]
RewriteCond %{REQUEST_URI} ^/\\.zreg/errors/[A-Z_]+\\.json$
RewriteRule ^ - [T=application/json,L]
# The empty referrers list of a known repository (below).
RewriteCond %{ENV:REDIRECT_ZREG_NO_REFERRERS} =1
RewriteCond %{REQUEST_URI} =/.zreg/no-referrers.json
RewriteRule ^ - [T=${MediaTypes.OciIndex},E=ZREG_MUTABLE:1,L]
# A read-only registry: GET and HEAD.
RewriteCond %{REQUEST_METHOD} !^(GET|HEAD)$
RewriteRule ^ - [E=ZREG_ERROR:UNSUPPORTED,R=405]
# Dot paths (.zreg metadata, .zreg-builds, .htaccess) are no content.
RewriteCond %{REQUEST_URI} /\\.
RewriteRule ^ - [R=404]
# containerd's hosts.toml mirrors ask /v2/<name>/...?ns=<registry>: the repository that answers is the
# first of <ns>/<name> (a port joined with "-", as zreg add --scoped names it), docker.io/<name without
# library/> and <name> the tree has, as zreg serve and nginx choose; a missing one is a 404 either way.
RewriteCond %{ENV:REDIRECT_STATUS} ^$
RewriteCond %{QUERY_STRING}#%{REQUEST_URI} ${mirrorSource(false)}
RewriteRule ^ - [E=ZREG_NS:%1,E=ZREG_NAME:%2,E=ZREG_REST:%3]
RewriteCond %{ENV:REDIRECT_STATUS} ^$
RewriteCond %{QUERY_STRING}#%{REQUEST_URI} ${mirrorSource(true)}
RewriteRule ^ - [E=ZREG_NS:%1-%2,E=ZREG_NAME:%3,E=ZREG_REST:%4]
RewriteCond %{ENV:ZREG_NS} =docker.io
RewriteCond %{ENV:ZREG_NAME} ^library/(.+)$
RewriteRule ^ - [E=ZREG_SHORT:%1]
RewriteCond %{ENV:ZREG_NS} !^$
RewriteCond "${r}/v2/%{ENV:ZREG_NS}/%{ENV:ZREG_NAME}/tags/list" -f
RewriteRule ^ /v2/%{ENV:ZREG_NS}/%{ENV:ZREG_NAME}/%{ENV:ZREG_REST} [L]
RewriteCond %{ENV:ZREG_SHORT} !^$
RewriteCond "${r}/v2/docker.io/%{ENV:ZREG_SHORT}/tags/list" -f
RewriteRule ^ /v2/docker.io/%{ENV:ZREG_SHORT}/%{ENV:ZREG_REST} [L]
# The catalog page, when the tree has one.
RewriteCond %{REQUEST_URI} =/
RewriteCond "${r}/index.html" -f
RewriteRule ^ /index.html [L]
RewriteCond %{REQUEST_URI} =/index.html
RewriteCond "${r}/index.html" -f
RewriteRule ^ - [T=text/html,E=ZREG_MUTABLE:1,L]
# The API version check and the catalog.
RewriteCond %{REQUEST_URI} ^/v2/?$
RewriteRule ^ /v2/index.html [L]
RewriteCond %{REQUEST_URI} ^/v2/(index\\.html|_catalog)$
RewriteRule ^ - [T=application/json,E=ZREG_MUTABLE:1,L]
# Cache lifetimes: what is named by its digest never changes; tags, tag lists and referrers lists change
# with the next build, and so does the default platform's manifest answered for a tag.
RewriteCond %{REQUEST_URI} ^${repository}/(tags/list|manifests/[^/]+|referrers/[^/]+)$
RewriteRule ^ - [E=ZREG_MUTABLE:1]
RewriteCond %{REQUEST_URI} ^${repository}/(blobs|manifests)/${digestSource}$
RewriteRule ^ - [E=ZREG_IMMUTABLE:1,E=!ZREG_MUTABLE]
RewriteCond %{ENV:REDIRECT_ZREG_MUTABLE} =1
RewriteRule ^ - [E=ZREG_MUTABLE:1,E=!ZREG_IMMUTABLE]
# A repository whose rules redirect blobs answers all its blobs in its blobs/.htaccess (after these).
RewriteCond %{REQUEST_URI} ^${repository}/blobs/[^/]+$
RewriteCond "${r}/v2/%1/blobs/.htaccess" -f
RewriteRule ^ - [E=ZREG_BLOB_RULES:1]
# What the tree does not hold: every digest of a known repository has a (possibly empty) referrers list.
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_URI} ^${repository}/referrers/${digestSource}$
RewriteCond "${r}/v2/%1/tags/list" -f
RewriteRule ^ /.zreg/no-referrers.json [E=ZREG_NO_REFERRERS:1,L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_URI} ^${repository}/manifests/[^/]+$
RewriteRule ^ - [E=ZREG_ERROR:MANIFEST_UNKNOWN,R=404]
RewriteCond %{ENV:ZREG_BLOB_RULES} !=1
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_URI} ^${repository}/blobs/[^/]+$
RewriteRule ^ - [E=ZREG_ERROR:BLOB_UNKNOWN,R=404]
RewriteCond %{ENV:ZREG_BLOB_RULES} !=1
RewriteCond %{REQUEST_FILENAME} !-f
RewriteRule ^ - [R=404]
# What the tree holds.
RewriteCond %{ENV:ZREG_BLOB_RULES} !=1
RewriteCond %{REQUEST_URI} ^${repository}/blobs/${digestSource}$
RewriteRule ^ - [T=${MediaTypes.OctetStream},E=ZREG_DIGEST:%2,L]
RewriteCond %{REQUEST_URI} ^${repository}/tags/list$
RewriteRule ^ - [T=application/json,L]
RewriteCond %{REQUEST_URI} ^${repository}/referrers/${digestSource}$
RewriteRule ^ - [T=${MediaTypes.OciIndex},L]
# A manifest: its repository's manifests/.htaccess sets its type and digest.
RewriteCond %{REQUEST_URI} ^${repository}/manifests/[^/]+$
RewriteRule ^ - [E=ZREG_VARY:1]
RewriteCond %{ENV:ZREG_BLOB_RULES} !=1
RewriteCond %{REQUEST_URI} !^${repository}/manifests/[^/]+$
RewriteRule ^ - [R=404]
${auth ? apacheAuthRules(auth) : ''}`
}

/** The modules --auth adds to apacheModules (Debian: a2enmod auth_basic authn_file). */
export const apacheAuthModules = ['auth_basic', 'authn_core', 'authn_file', 'authz_user']

/**
 * The access control of --auth, for the same directory context: Basic auth against the htpasswd file,
 * decided on the decoded path asked for. Apache checks it again after each internal redirect (a
 * containerd mirror request's repository, the default platform's manifest), on the path redirected to.
 * `req('Authorization')` in a condition makes Apache add `Vary: Authorization`.
 */
function apacheAuthRules(auth: HostAuth): string {
  const { always, members } = auth.login
  return `# Access control (zreg server-config --auth). Credentials are checked wherever they are sent (a wrong
# password is refused even for what anyone may pull; none, or empty ones, as skopeo and podman send
# after a challenge when they have none, are anonymous); anonymous clients must log in for the paths
# below. An answer to a client that logged in is its own: private. The error bodies are anyone's.
AuthType Basic
AuthName "${auth.realm}"
AuthBasicProvider file
AuthUserFile "${auth.htpasswd}"
ErrorDocument 401 /.zreg/errors/UNAUTHORIZED.json
<If "%{REQUEST_URI} =~ m#^/\\.zreg/errors/[A-Z_]+\\.json$#">
    Require all granted
</If>
<ElseIf "-n req('Authorization') && req('Authorization') != 'Basic Og=='">
    Require valid-user
    Header edit Cache-Control ^public private
    Header always edit Cache-Control ^public private
</ElseIf>
<ElseIf "%{REQUEST_URI} =~ m#${always}#">
    Require valid-user
</ElseIf>
${auth.login.mirrors ? `# A containerd mirror request (?ns=) needs a login while anything does: the repository it resolves to
# depends on which exist, so its answer would tell whether a private one does.
<ElseIf "%{QUERY_STRING} =~ /(^|&)ns=/">
    Require valid-user
</ElseIf>
` : ''}${members?.except ? `<ElseIf "%{REQUEST_URI} =~ m#${members.except}#">\n    Require all granted\n</ElseIf>\n` : ''}${members ? `<ElseIf "%{REQUEST_URI} =~ m#${members.paths}#">\n    Require valid-user\n</ElseIf>\n` : ''}`
}
