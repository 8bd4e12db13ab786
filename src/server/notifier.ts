import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { matchesAny, repositoryGlob, type RepositoryGlob } from '../oci/repository-glob.js'

export type EventAction = 'push' | 'tag' | 'delete'

/** Where events go, as the reference registry's `notifications.endpoints` configures them. */
export interface NotificationEndpoint {
  url: string
  /** Extra request headers (an Authorization token, say). */
  headers?: Record<string, string>
  /** Only these actions (default: all). */
  actions?: EventAction[]
  /**
   * Only events of these repositories (globs: repository-glob.ts; default: all): an endpoint that may
   * not read a private repository is told nothing of it, not even its name.
   */
  repositories?: string[]
  /** Delivery attempts before an event is dropped (default 5). */
  attempts?: number
  /** Wait before the first retry; doubled each time (default 1000 ms). */
  backoffMs?: number
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number
}

export interface EventTarget {
  mediaType?: string
  digest?: string
  size?: number
  repository: string
  tag?: string
}

/** The media type of the reference registry's event envelopes. */
export const eventsMediaType = 'application/vnd.docker.distribution.events.v1+json'

interface Queue {
  endpoint: NotificationEndpoint
  repositories: RepositoryGlob[] | undefined
  pending: string[]
  running: boolean
}

/**
 * Sends registry events to webhook endpoints in the reference registry's envelope format. Each endpoint
 * has its own queue, delivered in order and retried with exponential backoff; a request never waits for
 * a delivery.
 */
export class Notifier {
  private readonly queues: Queue[]
  private readonly instance = randomUUID()
  /** Deliveries given up on (all attempts failed), for logs and tests. */
  dropped = 0

  constructor(
    endpoints: NotificationEndpoint[],
    private readonly source: { addr: string },
    private readonly log: (line: string) => void = console.error,
  ) {
    this.queues = endpoints.map((endpoint) => ({
      endpoint,
      repositories: endpoint.repositories?.map((glob) => repositoryGlob(glob, `the repositories of webhook ${endpoint.url}`)),
      pending: [],
      running: false,
    }))
  }

  emit(action: EventAction, target: EventTarget, req: IncomingMessage): void {
    if (this.queues.length === 0) return
    const event = {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      action,
      target: { ...target, ...(target.size !== undefined ? { length: target.size } : {}), url: `http://${this.source.addr}/v2/${target.repository}/manifests/${target.digest ?? target.tag ?? ''}` },
      request: { id: randomUUID(), addr: req.socket.remoteAddress ?? '', host: req.headers.host ?? '', method: req.method ?? '', useragent: req.headers['user-agent'] ?? '' },
      actor: {},
      source: { addr: this.source.addr, instanceID: this.instance },
    }
    const body = JSON.stringify({ events: [event] })
    for (const queue of this.queues) {
      if (queue.endpoint.actions && !queue.endpoint.actions.includes(action)) continue
      if (queue.repositories && !matchesAny(queue.repositories, target.repository)) continue
      queue.pending.push(body)
      if (!queue.running) void this.drain(queue)
    }
  }

  private async drain(queue: Queue): Promise<void> {
    queue.running = true
    try {
      for (let body = queue.pending.shift(); body !== undefined; body = queue.pending.shift()) await this.deliver(queue.endpoint, body)
    } finally {
      queue.running = false
    }
  }

  private async deliver(endpoint: NotificationEndpoint, body: string): Promise<void> {
    const attempts = endpoint.attempts ?? 5
    let wait = endpoint.backoffMs ?? 1000
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(endpoint.url, {
          method: 'POST',
          headers: { 'Content-Type': eventsMediaType, ...endpoint.headers },
          body,
          signal: AbortSignal.timeout(endpoint.timeoutMs ?? 5000),
        })
        await response.arrayBuffer()
        if (response.status >= 200 && response.status < 300) return
        throw new Error(`HTTP ${response.status}`)
      } catch (error) {
        if (attempt === attempts) {
          this.dropped++
          this.log(`zreg: dropped an event for ${endpoint.url} after ${attempts} attempts: ${(error as Error).message}`)
          return
        }
        await sleep(wait)
        wait *= 2
      }
    }
  }
}
