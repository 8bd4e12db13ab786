import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mirrorPath } from '../../src/server/mirror-request.js'

const query = (text: string) => new URLSearchParams(text)

test('a mirror request reads the first candidate repository that exists, else <ns>/<name>', () => {
  const has = (names: string[]) => (name: string) => names.includes(name)
  const cases: [string, string, string[], string | undefined][] = [
    ['/v2/library/app/manifests/1', 'ns=docker.io', ['docker.io/library/app'], '/v2/docker.io/library/app/manifests/1'],
    ['/v2/library/app/manifests/1', 'ns=docker.io', ['docker.io/app'], '/v2/docker.io/app/manifests/1'],
    ['/v2/library/app/manifests/1', 'ns=docker.io', ['docker.io/library/app', 'library/app'], '/v2/docker.io/library/app/manifests/1'],
    ['/v2/library/app/manifests/1', 'ns=docker.io', ['library/app'], '/v2/library/app/manifests/1'],
    ['/v2/library/app/manifests/1', 'ns=quay.io', ['docker.io/app'], '/v2/quay.io/library/app/manifests/1'],
    ['/v2/library/app/manifests/1', 'ns=docker.io', [], '/v2/docker.io/library/app/manifests/1'],
    ['/v2/team/tool/blobs/sha256:00', 'ns=registry.k8s.io', [], '/v2/registry.k8s.io/team/tool/blobs/sha256:00'],
    ['/v2/team/tool/tags/list', 'ns=quay.io&n=1', ['quay.io/team/tool'], '/v2/quay.io/team/tool/tags/list'],
    ['/v2/team/tool/referrers/sha256:00', 'ns=localhost%3A5000', ['team/tool'], '/v2/team/tool/referrers/sha256:00'],
    ['/v2/team/tool/manifests/1', 'ns=localhost:5000', ['localhost-5000/team/tool', 'team/tool'], '/v2/localhost-5000/team/tool/manifests/1'],
    ['/v2/team/tool/manifests/1', 'ns=127.0.0.1:5000', ['127.0.0.1-5000/team/tool'], '/v2/127.0.0.1-5000/team/tool/manifests/1'],
    ['/v2/team/tool/manifests/1', 'ns=localhost:5000', [], '/v2/localhost-5000/team/tool/manifests/1'],
    // No usable ns, or no repository route: served as it is.
    ['/v2/library/app/manifests/1', '', ['docker.io/library/app'], undefined],
    ['/v2/library/app/manifests/1', 'ns=', ['docker.io/library/app'], undefined],
    ['/v2/library/app/manifests/1', 'ns=Docker.IO', ['Docker.IO/library/app'], undefined],
    ['/v2/library/app/manifests/1', 'ns=a/b', [], undefined],
    ['/v2/library/app/manifests/1', 'ns=-bad.io', [], undefined],
    ['/v2/', 'ns=docker.io', [], undefined],
    ['/v2/_catalog', 'ns=docker.io', [], undefined],
    ['/v2/library/app/blobs/uploads/', 'ns=docker.io', [], undefined],
  ]
  for (const [path, search, existing, expected] of cases) {
    assert.equal(mirrorPath(path, query(search), has(existing)), expected, `${path}?${search} with ${existing.join(', ') || 'nothing'}`)
  }
})
