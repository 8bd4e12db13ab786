import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig, substituteEnv } from '../../src/config.js'
import { ZregError } from '../../src/errors.js'
import { tempDir } from '../helpers/paths.js'

test('env substitution: ${VAR}, ${VAR:-default}, unset is an error', () => {
  const env = { A: 'x', EMPTY: '' }
  assert.deepEqual(substituteEnv({ a: '${A}/y', b: ['${B:-def}'], c: 3, d: '${EMPTY:-e}' }, env), { a: 'x/y', b: ['def'], c: 3, d: 'e' })
  assert.throws(() => substituteEnv({ a: '${NOPE}' }, env), (error: unknown) => error instanceof ZregError && error.code === 'CONFIG_FILE_INVALID' && /NOPE/.test(error.message))
})

test('loadConfig validates against the schema and tolerates a missing default file', async () => {
  const dir = await tempDir('config')
  const file = join(dir, 'zreg.json')
  await writeFile(file, JSON.stringify({ store: '${ROOT}/store', serve: { port: '${PORT:-5001}' } }))
  assert.deepEqual(await loadConfig(file, { ROOT: '/srv' }), { store: '/srv/store', serve: { port: '5001' } })
  await writeFile(file, JSON.stringify({ stroe: 'typo' }))
  await assert.rejects(loadConfig(file, {}), /stroe|additional/)
  await assert.rejects(loadConfig(join(dir, 'missing.json'), {}), (error: unknown) => error instanceof ZregError && error.code === 'CONFIG_FILE_INVALID')
})
