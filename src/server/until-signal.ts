/** Keeps a server running until SIGINT or SIGTERM, then closes it cleanly (requests in flight finish). */
export async function serveUntilSignal(server: { close(): Promise<void> }, log: (text: string) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => {
      log('zreg: shutting down')
      server.close().then(resolve, resolve)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
