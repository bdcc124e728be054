import { createHash } from 'node:crypto';
import { type DroverConfig, MemoryBackend, Registry, createLogger, loadConfig } from '@drover/shared';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/index.js';

export const KEY_A = 'key-a-0123456789abcdef';
export const KEY_B = 'key-b-0123456789abcdef';
export const ADMIN_KEY = 'key-admin-0123456789abcdef';

export const authA = { authorization: `Bearer ${KEY_A}` };
export const authB = { authorization: `Bearer ${KEY_B}` };
export const authAdmin = { authorization: `Bearer ${ADMIN_KEY}` };

export interface Fixture {
  app: FastifyInstance;
  backend: MemoryBackend;
  config: DroverConfig;
  registry: Registry;
  close(): Promise<void>;
}

/** An app on a fresh memory backend with three tenants (a, b, and ops, the admin). */
export async function startApp(env: Record<string, string> = {}): Promise<Fixture> {
  const config = loadConfig({
    DROVER_API_KEYS: `a:${KEY_A},b:sha256:${createHash('sha256').update(KEY_B).digest('hex')},ops:${ADMIN_KEY}`,
    DROVER_ADMIN_TENANTS: 'ops',
    DROVER_LOG_LEVEL: 'silent',
    ...env,
  });
  const backend = new MemoryBackend();
  const registry = new Registry();
  const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level: 'silent' });
  const app = await buildApp({ config, backend, logger, registry });
  await app.ready();
  return {
    app,
    backend,
    config,
    registry,
    async close() {
      await app.close();
      await backend.close();
    },
  };
}

export function json(body: unknown): { payload: string; headers: Record<string, string> } {
  return { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
}
