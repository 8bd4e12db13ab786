import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pullSuite } from '../helpers/pull-suite.js'
import { copyTree, startNginx } from '../helpers/servers.js'
import { filesMentioning } from '../helpers/tree.js'

// The tree is built in one directory and served by nginx from a `cp -a` copy in another, with the
// configuration `zreg server-config --for nginx --root <copy>` generated: what a deployment does.
let original = ''
let copy = ''
let config = ''
pullSuite('nginx with the generated configuration, over a copy of the tree', async (site) => {
  original = site.site
  copy = await copyTree(site.site, 'nginx-copy')
  const server = await startNginx(copy, { root: copy })
  config = server.config
  return server
})

test('no path of the tree it was built in is in the copy or in the configuration; no link is absolute', async () => {
  assert.ok(original && copy && config)
  assert.deepEqual(await filesMentioning(original, [copy, config]), [])
})
