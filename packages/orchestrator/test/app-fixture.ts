import { createHash } from 'node:crypto';
import type { GraphStore } from '@drover/graph';
import { type Backend, type DroverConfig, MemoryBackend, Registry, createLogger, loadConfig } from '@drover/shared';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../src/index.js';

export const KEY_A = 'key-a-0123456789abcdef';
export const KEY_B = 'key-b-0123456789abcdef';
export const ADMIN_KEY = 'key-admin-0123456789abcdef';

export const authA = { authorization: `Bearer ${KEY_A}` };
export const authB = { authorization: `Bearer ${KEY_B}` };
export const authAdmin = { authorization: `Bearer ${ADMIN_KEY}` };
export const jsonA = { ...authA, 'content-type': 'application/json' };
export const jsonB = { ...authB, 'content-type': 'application/json' };

export interface Fixture {
  app: FastifyInstance;
  backend: MemoryBackend;
  config: DroverConfig;
  registry: Registry;
  close(): Promise<void>;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  /** Runs on the backend before the app starts (e.g. to register task types). */
  setup?: (backend: MemoryBackend) => Promise<void>;
  /** Wraps the backend the app sees (to simulate failures). */
  wrap?: (backend: MemoryBackend) => Backend;
  /** The task graph the app reads (GET /v1/tasks/:id/graph). */
  graph?: GraphStore;
}

/**
 * An app on a fresh memory backend. Tenants: a (key given in plain), b (key given as a digest),
 * and ops, the admin.
 */
export async function startApp(options: FixtureOptions = {}): Promise<Fixture> {
  const config = loadConfig({
    DROVER_API_KEYS: `a:${KEY_A},b:sha256:${createHash('sha256').update(KEY_B).digest('hex')},ops:${ADMIN_KEY}`,
    DROVER_ADMIN_TENANTS: 'ops',
    DROVER_LOG_LEVEL: 'silent',
    ...options.env,
  });
  const backend = new MemoryBackend();
  await options.setup?.(backend);
  const registry = new Registry();
  const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level: 'silent' });
  const app = await buildApp({ config, backend: options.wrap ? options.wrap(backend) : backend, logger, registry, ...(options.graph ? { graph: options.graph } : {}) });
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

/** Asserts an RFC 9457 answer with the given status and code; returns the problem body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string): Record<string, any> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: `urn:drover:error:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

/** Resolves once `check` is true, yielding to the event loop between checks (no fixed sleeps). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
