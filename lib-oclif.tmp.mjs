import '@oclif/core'
import { startPushServer } from '/work/main/dist/src/server/http-server.js'
import { LayoutStore } from '/work/main/dist/src/store/layout-store.js'
const store = await LayoutStore.open('/dev/shm/lib/store', { create: true })
await startPushServer({ store, port: 5140, accessLog: false })
process.on('SIGINT', () => process.exit(0))
