import { pullSuite } from '../helpers/pull-suite.js'
import { startZregServe } from '../helpers/servers.js'

pullSuite('zreg serve', (site) => startZregServe(site.site))
