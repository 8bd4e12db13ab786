import { pullSuite } from '../helpers/pull-suite.js'
import { startNginx } from '../helpers/servers.js'

pullSuite('nginx with the generated configuration', (site) => startNginx(site.site))
