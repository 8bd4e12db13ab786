import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ZregError } from '../../src/errors.js'
import { formatRemoteReference, isLoopbackRegistry, parseRemoteReference, registryEndpoint, type RemoteReference } from '../../src/remote/remote-reference.js'

const digest = `sha256:${'a'.repeat(64)}`

test('docker:// references parse by docker rules: registry detection, docker.io and library/, ports, tags and digests', () => {
  const cases: [string, RemoteReference, string][] = [
    ['busybox', { registry: 'docker.io', repository: 'library/busybox' }, 'docker.io/library/busybox'],
    ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }, 'docker.io/library/busybox:1.36'],
    ['library/busybox:1', { registry: 'docker.io', repository: 'library/busybox', tag: '1' }, 'docker.io/library/busybox:1'],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }, 'docker.io/bitnami/redis:7'],
    ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox' }, 'docker.io/library/busybox'],
    ['index.docker.io/busybox:1', { registry: 'docker.io', repository: 'library/busybox', tag: '1' }, 'docker.io/library/busybox:1'],
    ['Docker.IO/x/y', { registry: 'docker.io', repository: 'x/y' }, 'docker.io/x/y'],
    ['quay.io/coreos/etcd:v3.5', { registry: 'quay.io', repository: 'coreos/etcd', tag: 'v3.5' }, 'quay.io/coreos/etcd:v3.5'],
    ['Quay.IO/coreos/etcd', { registry: 'quay.io', repository: 'coreos/etcd' }, 'quay.io/coreos/etcd'],
    ['127.0.0.1:5000/up/small:1.0', { registry: '127.0.0.1:5000', repository: 'up/small', tag: '1.0' }, '127.0.0.1:5000/up/small:1.0'],
    ['localhost/app', { registry: 'localhost', repository: 'app' }, 'localhost/app'],
    ['localhost:5000/app:v1', { registry: 'localhost:5000', repository: 'app', tag: 'v1' }, 'localhost:5000/app:v1'],
    ['[::1]:5000/app:v1', { registry: '[::1]:5000', repository: 'app', tag: 'v1' }, '[::1]:5000/app:v1'],
    ['registry:5000/app', { registry: 'registry:5000', repository: 'app' }, 'registry:5000/app'],
    ['ghcr.io/a/b/c/d', { registry: 'ghcr.io', repository: 'a/b/c/d' }, 'ghcr.io/a/b/c/d'],
    [`quay.io/x/y@${digest}`, { registry: 'quay.io', repository: 'x/y', digest: digest as RemoteReference['digest'] }, `quay.io/x/y@${digest}`],
    [`busybox:1@${digest}`, { registry: 'docker.io', repository: 'library/busybox', tag: '1', digest: digest as RemoteReference['digest'] }, `docker.io/library/busybox:1@${digest}`],
    [`host:5000/x:t@${digest}`, { registry: 'host:5000', repository: 'x', tag: 't', digest: digest as RemoteReference['digest'] }, `host:5000/x:t@${digest}`],
  ]
  for (const [text, expected, formatted] of cases) {
    const parsed = parseRemoteReference(text)
    assert.deepEqual(parsed, expected, text)
    assert.equal(formatRemoteReference(parsed), formatted, text)
  }
})

test('invalid docker:// references are SOURCE_INVALID saying what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['', /names no image/],
    ['Busybox', /repository names must be lowercase: "Busybox" \(try "busybox"\)/],
    ['quay.io/Coreos/etcd', /must be lowercase: "Coreos\/etcd"/],
    ['https://quay.io/x/y', /second scheme/],
    ['quay.io/', /names no repository after the registry/],
    ['busybox:', /"" is not a valid tag/],
    ['busybox:-x', /"-x" is not a valid tag/],
    [`busybox:${'t'.repeat(129)}`, /not a valid tag/],
    ['busybox@sha256:abc', /"sha256:abc" after @ is not a digest/],
    [`busybox@md5:${'a'.repeat(32)}`, /after @ is not a digest/],
    ['a b', /white space/],
    ['quay.io/x//y', /is not a valid repository name/],
    ['quay.io/x_-y', /is not a valid repository name/],
    ['-bad.io/x', /"-bad.io" is not a valid registry/],
    ['host:99999/x', /port 99999 is not between 1 and 65535/],
    [`quay.io/${'a'.repeat(250)}`, /longer than 255 characters/],
  ]
  for (const [text, message] of cases) {
    assert.throws(
      () => parseRemoteReference(text),
      (error: unknown) => error instanceof ZregError && error.code === 'SOURCE_INVALID' && message.test(error.message) && error.message.startsWith(`docker://${text}: `),
      text,
    )
  }
})

test('endpoints: docker.io is reached at registry-1.docker.io; loopback hosts are the ones allowed plain http', () => {
  assert.equal(registryEndpoint('docker.io'), 'registry-1.docker.io')
  assert.equal(registryEndpoint('index.docker.io'), 'registry-1.docker.io')
  assert.equal(registryEndpoint('quay.io'), 'quay.io')
  assert.equal(registryEndpoint('127.0.0.1:5000'), '127.0.0.1:5000')
  for (const host of ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000']) assert.ok(isLoopbackRegistry(host), host)
  for (const host of ['quay.io', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]:5000']) assert.ok(!isLoopbackRegistry(host), host)
})
