import type { QueueInfo } from './api-types.js';
import type { HttpTransport } from './http-transport.js';

/** Queue depths for every tenant; pause and resume for admin tenants (DROVER_ADMIN_TENANTS). */
export class Queues {
  constructor(private readonly http: HttpTransport) {}

  /** Every queue in DROVER_QUEUES, in that order. */
  async list(options: { signal?: AbortSignal } = {}): Promise<QueueInfo[]> {
    return (await this.http.request<{ queues: QueueInfo[] }>({ method: 'GET', path: '/v1/queues', signal: options.signal })).body.queues;
  }

  /** Workers stop taking the queue's tasks (running ones finish); submissions still queue up. */
  pause(name: string, options: { signal?: AbortSignal } = {}): Promise<QueueInfo> {
    return this.act(name, 'pause', options.signal);
  }

  resume(name: string, options: { signal?: AbortSignal } = {}): Promise<QueueInfo> {
    return this.act(name, 'resume', options.signal);
  }

  private async act(name: string, action: 'pause' | 'resume', signal: AbortSignal | undefined): Promise<QueueInfo> {
    // Setting a state twice is harmless, so a pause lost to the network may be sent again.
    return (await this.http.request<QueueInfo>({ method: 'POST', path: `/v1/queues/${encodeURIComponent(name)}/${action}`, idempotent: true, signal })).body;
  }
}
