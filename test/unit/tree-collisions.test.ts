import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LiteralLayout } from '../../src/build/live-tree.js'
import { incomingCollision, treeCollisions } from '../../src/oci/tree-collisions.js'

const names = (entries: Record<string, string[]>) => new Map(Object.entries(entries).map(([name, tags]) => [name, new Set(tags)]))
const left = (entries: Record<string, string[]>) => treeCollisions(names(entries)).map((collision) => [collision.repository, collision.tag ?? null])

test('a repository may be named like a part of another: the tree nests it', () => {
  assert.deepEqual(left({ app: ['1', 'latest'], 'app/blobs': ['1'], 'app/tags': ['1'], 'app/manifests': ['1'], 'app/referrers': ['1'], 'app/blobs/x/y': ['1'], 'app/manifests/2': ['1'], 'app/tags/lists': ['1'] }), [])
  assert.deepEqual(left({ 'a/tags/list': ['1'], 'a/manifests/1': ['1'], tags: ['list'], manifests: ['x'] }), [], 'no enclosing repository, no collision')
})

test('the few names that need a directory where another repository has a file collide', () => {
  assert.deepEqual(left({ app: ['1'], 'app/tags/list': ['1'] }), [['app/tags/list', null]])
  assert.deepEqual(left({ app: ['1'], 'app/tags/list/deep': ['1'] }), [['app/tags/list/deep', null]])
  assert.deepEqual(left({ app: ['v1'], 'app/manifests/v1': ['1'], 'app/manifests/v1/x': ['1'] }), [['app/manifests/v1', 'v1'], ['app/manifests/v1/x', 'v1']])
  assert.deepEqual(left({ app: ['blobs', 'tags', 'Blobs', 'x'], 'app/manifests': ['1'] }), [['app/manifests', 'blobs'], ['app/manifests', 'tags']])
  assert.deepEqual(left({ 'index.html': ['1'], 'index.html/x': ['1'], 'index.htm': ['1'] }), [['index.html', null], ['index.html/x', null]])
  assert.deepEqual(left({ app: ['V1'], 'app/manifests/v1': ['1'] }), [], 'tags are case-sensitive')
})

test('a new name is refused only when it takes part in a collision', () => {
  const stored = names({ app: ['1', 'x'], 'app/manifests': ['1'] })
  assert.match(incomingCollision(stored, [{ repository: 'app/tags/list', tag: '1' }])!.reason, /tags\/list/)
  assert.equal(incomingCollision(stored, [{ repository: 'app/manifests/1' }])!.tag, '1')
  assert.equal(incomingCollision(stored, [{ repository: 'app', tag: 'blobs' }])!.repository, 'app/manifests', 'a tag in the way of a nested repository')
  assert.equal(incomingCollision(names({ 'app/tags/list': ['1'] }), [{ repository: 'app' }])!.repository, 'app/tags/list', 'a new enclosing repository')
  assert.equal(incomingCollision(stored, [{ repository: 'app', tag: '2' }]), undefined)
  assert.equal(incomingCollision(stored, [{ repository: 'app/manifests/2', tag: '1' }]), undefined)
  assert.ok(incomingCollision(new Map(), [{ repository: 'a', tag: 'v' }, { repository: 'a/manifests/v', tag: '1' }]), 'collisions within one commit')
  const broken = names({ app: ['blobs'], 'app/manifests': ['1'] })
  assert.equal(incomingCollision(broken, [{ repository: 'app', tag: '2' }]), undefined, 'an old collision does not stop other pushes')
  assert.equal(incomingCollision(broken, [{ repository: 'other', tag: '1' }]), undefined)
})

test('the literal tree makes a directory of each path others nest in', () => {
  const layout = new LiteralLayout(['app', 'app/blobs', 'app/manifests/x/y', 'solo', 'deep/a/b'])
  assert.equal(layout.placement('solo'), 'link')
  assert.equal(layout.placement('deep/a/b'), 'link')
  assert.equal(layout.placement('app/manifests/x/y'), 'link')
  assert.deepEqual(layout.placement('app'), { manifests: 'files', blobs: 'files', tags: 'link', referrers: 'link' })
  assert.deepEqual(layout.placement('app/blobs'), { manifests: 'link', blobs: 'link', tags: 'link', referrers: 'link' })
  assert.deepEqual([...layout.nestedEntries('app/blobs')].sort(), ['blobs', 'manifests', 'referrers', 'tags'])
  assert.deepEqual([...layout.nestedEntries('app/manifests')], ['x'])
  assert.ok(layout.isDirectory('deep/a') && !layout.isDirectory('deep/a/b'))
})
