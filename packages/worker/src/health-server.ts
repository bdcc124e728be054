import { type Server, createServer } from 'node:http';
import type { Backend, Registry } from '@drover/shared';
import type { Worker } from './worker.js';

export interface HealthServerOptions {
  worker: Worker;
  backend: Backend;
  registry: Registry;
  host: string;
  port: number;
}

/**
 * The worker's own small HTTP server: /healthz (process up), /readyz (backend reachable and not
 * draining: Kubernetes stops counting a draining pod), /metrics (Prometheus text).
 */
export async function startHealthServer(options: HealthServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { worker, backend, registry } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { code: 'DROVER_ERR_METHOD_NOT_ALLOWED' });
    if (path === '/healthz') return reply(200, { status: 'ok', worker: worker.id });
    if (path === '/readyz') {
      if (worker.draining) return reply(503, { status: 'draining', worker: worker.id });
      backend.ping().then(
        () => reply(200, { status: 'ready', worker: worker.id, running: worker.running() }),
        (err: Error) => reply(503, { status: 'unavailable', reason: err.message }),
      );
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        () => reply(500, { code: 'DROVER_ERR_INTERNAL' }),
      );
      return;
    }
    reply(404, { code: 'DROVER_ERR_ROUTE_NOT_FOUND' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  return {
    server,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
