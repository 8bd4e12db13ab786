import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { asZregError, errorTable, systemError, ZregError, type ErrorCode } from '../../src/errors.js'
import { repoRoot } from '../helpers/paths.js'

const ociCodes = ['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS', 'UNAVAILABLE', 'UNKNOWN', 'TAG_INVALID']

test('every error code has a valid OCI code, status, exit code and a hint, and is documented', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8')
  for (const [code, entry] of Object.entries(errorTable)) {
    assert.ok(ociCodes.includes(entry.oci), `${code}: ${entry.oci}`)
    assert.ok(entry.status >= 400 && entry.status < 600, code)
    assert.ok(entry.exit >= 1 && entry.exit <= 5, code)
    assert.ok(entry.hint.length > 10, code)
    assert.ok(readme.includes(`\`${code}\``), `README documents ${code}`)
  }
  assert.equal(new Set(Object.keys(errorTable)).size, Object.keys(errorTable).length)
})

test('unknown failures become INTERNAL', () => {
  assert.equal(asZregError(new Error('boom')).code, 'INTERNAL')
  const known = new ZregError('BLOB_UNKNOWN', 'x')
  assert.equal(asZregError(known), known)
  assert.equal(known.status, 404)
  assert.equal(known.exitCode, 3)
})

test('system errors map to the entry a user can act on, naming the path or address', () => {
  const errno = (code: string, fields: Record<string, unknown>) => Object.assign(new Error(`${code}: raw`), { code, ...fields })
  const cases: [Error, ErrorCode, RegExp][] = [
    [errno('EACCES', { syscall: 'mkdir', path: '/srv/store' }), 'PERMISSION_DENIED', /^cannot create the directory \/srv\/store: permission denied$/],
    [errno('EPERM', { syscall: 'rename', path: '/a', dest: '/b' }), 'PERMISSION_DENIED', /^cannot rename \/a to \/b: permission denied$/],
    [errno('EROFS', { syscall: 'open', path: '/ro/x' }), 'PERMISSION_DENIED', /\/ro\/x: the file system is read-only$/],
    [errno('ENOENT', { syscall: 'open', path: '/nope' }), 'PATH_NOT_FOUND', /\/nope: no such file or directory$/],
    [errno('ENOTDIR', { syscall: 'open', path: '/etc/passwd/x' }), 'PATH_INVALID', /\/etc\/passwd\/x: a part of the path is a file/],
    [errno('EISDIR', { syscall: 'read' }), 'PATH_INVALID', /^cannot read: it is a directory, not a file$/],
    [errno('EEXIST', { syscall: 'mkdir', path: '/x' }), 'PATH_INVALID', /\/x: something is already there$/],
    [errno('ENOSPC', { syscall: 'write' }), 'NO_SPACE', /^cannot write: no space left on the device$/],
    [errno('EDQUOT', { syscall: 'write', path: '/q' }), 'NO_SPACE', /\/q: the disk quota is exceeded$/],
    [errno('EMFILE', { syscall: 'open', path: '/f' }), 'TOO_MANY_OPEN_FILES', /\/f: too many open files$/],
    [errno('EADDRINUSE', { syscall: 'listen', address: '127.0.0.1', port: 5000 }), 'PORT_IN_USE', /^cannot listen on 127\.0\.0\.1:5000: the port is already in use$/],
    [errno('EADDRINUSE', { syscall: 'listen', address: '::1', port: 5000 }), 'PORT_IN_USE', /\[::1\]:5000/],
    [errno('EACCES', { syscall: 'listen', address: '0.0.0.0', port: 80 }), 'ADDRESS_UNAVAILABLE', /0\.0\.0\.0:80: ports below 1024 need root$/],
    [errno('EADDRNOTAVAIL', { syscall: 'listen', address: '192.0.2.1', port: 0 }), 'ADDRESS_UNAVAILABLE', /192\.0\.2\.1 is not an address of this machine$/],
    [errno('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'nosuch.invalid' }), 'HOST_UNKNOWN', /^cannot resolve the host name nosuch\.invalid$/],
    [errno('ECONNREFUSED', { syscall: 'connect', address: '127.0.0.1', port: 9 }), 'CONNECTION_FAILED', /^cannot connect to 127\.0\.0\.1:9/],
  ]
  for (const [error, code, message] of cases) {
    const mapped = systemError(error)
    assert.equal(mapped?.code, code, (error as NodeJS.ErrnoException).code)
    assert.match(mapped!.message, message)
    assert.equal(mapped!.cause, error)
  }
  assert.match(systemError(errno('ENOSPC', { syscall: 'write' }), '/store/x.part', 'the store')!.message, /^cannot write \/store\/x\.part: no space left on the device \(the store\)$/)
  assert.equal(systemError(new Error('plain')), undefined)
  assert.equal(systemError(errno('EWHATEVER', {})), undefined)
})
