import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { withLock } from '../../src/store/lock.js'
import { zregOk } from './cli.js'
import { absoluteSource, fixturesDir, workDir } from './paths.js'

export interface SharedSite {
  store: string
  site: string
}

/** Every good fixture added with the real CLI, and one build of it: made once per test run, shared by the end-to-end files. */
export async function sharedSite(): Promise<SharedSite> {
  const dir = join(workDir, 'shared')
  const paths = { store: join(dir, 'store'), site: join(dir, 'site') }
  await mkdir(dir, { recursive: true })
  await withLock(join(dir, 'lock'), async () => {
    if (existsSync(join(dir, 'done'))) return
    const store = ['--store', paths.store]
    await zregOk(['add', `oci:${join(fixturesDir, 'oci-layout')}`, ...store])
    await zregOk(['add', absoluteSource('oci-archive:single.oci.tar:1.0'), '--name', 'archived/single', ...store])
    await zregOk(['add', absoluteSource('docker-archive:docker-old.tar'), ...store])
    await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), ...store])
    await zregOk(['add', absoluteSource('docker-archive:docker-new.tar'), '--format', 'oci', '--name', 'dockernew/app-oci:1.0', ...store])
    await zregOk(['build', ...store, '--out', paths.site])
    await writeFile(join(dir, 'done'), '')
  })
  return paths
}
