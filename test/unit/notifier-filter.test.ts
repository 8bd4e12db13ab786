import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Notifier } from '../../src/server/notifier.js'

test("a webhook limited to some repositories is told nothing of the others, not even their names", async () => {
  const received: string[] = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      received.push(body)
      res.end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`
  try {
    const notifier = new Notifier([{ url, repositories: ['base/**'] }], { addr: 'zreg.example' }, () => undefined)
    const request = { socket: { remoteAddress: '127.0.0.1' }, headers: {}, method: 'PUT' } as unknown as IncomingMessage
    notifier.emit('push', { repository: 'team/secret', tag: '1' }, request)
    notifier.emit('push', { repository: 'base/img', tag: '1' }, request)
    for (let i = 0; i < 100 && received.length < 1; i++) await sleep(20)
    await sleep(100)
    assert.equal(received.length, 1)
    assert.match(received[0]!, /base\/img/)
    assert.ok(!received.join('').includes('team/secret'))
    assert.throws(() => new Notifier([{ url, repositories: ['Team/*'] }], { addr: 'x' }), /the repositories of webhook .* is no repository glob/)
  } finally {
    receiver.close()
  }
})
