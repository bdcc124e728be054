import { createHash } from 'node:crypto';
import { buildApp } from '@drover/orchestrator';
import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import { type Worker, builtinTasks, createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DroverClient, type DroverClientOptions } from '../src/index.js';

export const KEY_A = 'client-key-a-0123456789abcdef';
export const KEY_B = 'client-key-b-0123456789abcdef';
export const KEY_PAGER = 'client-key-pager-0123456789abcdef';
export const KEY_ADMIN = 'client-key-admin-0123456789abcdef';

/**
 * A real orchestrator on a real port (127.0.0.1, port 0) over a memory backend, with a worker in
 * the same process, so tasks really run. Tenants: a, b (key given as a digest), pager (owned by
 * the pagination test alone), ops (admin). `stepper` reports progress once per released gate, so
 * a test decides when each event happens.
 */
export interface Orchestrator {
  app: FastifyInstance;
  backend: MemoryBackend;
  worker: Worker;
  baseUrl: string;
  /** Lets the next `n` stepper steps happen (waiting for a stepper to reach them). */
  release(n?: number): Promise<void>;
  client(apiKey?: string, options?: Partial<DroverClientOptions>): DroverClient;
  close(): Promise<void>;
}

export async function startOrchestrator(env: Record<string, string> = {}): Promise<Orchestrator> {
  const gates: Array<() => void> = [];
  const stepper = defineTask({
    name: 'stepper',
    queue: 'general',
    input: Type.Object({ steps: Type.Integer({ minimum: 1 }) }),
    run: async (input, ctx) => {
      for (let i = 1; i <= input.steps; i++) {
        await new Promise<void>((r) => gates.push(r));
        await ctx.progress({ step: i });
      }
      return { steps: input.steps };
    },
  });
  const config = loadConfig({
    DROVER_API_KEYS: `a:${KEY_A},b:sha256:${createHash('sha256').update(KEY_B).digest('hex')},pager:${KEY_PAGER},ops:${KEY_ADMIN}`,
    DROVER_ADMIN_TENANTS: 'ops',
    DROVER_LOG_LEVEL: 'silent',
    DROVER_SSE_KEEPALIVE_MS: '200',
    ...env,
  });
  const backend = new MemoryBackend();
  await backend.registerTaskTypes([{ name: 'stepper', queue: 'general', inputSchema: stepper.input as Record<string, unknown> }]);
  const app = await buildApp({ config, backend, logger: createLogger({ service: 'client-test', instance: 't', region: 'local', level: 'silent' }) });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const worker = createWorker({ backend, tasks: [stepper, ...builtinTasks()], concurrency: 4, queues: ['general'], heartbeatMs: 200 });
  await worker.start();
  return {
    app,
    backend,
    worker,
    baseUrl,
    async release(n = 1) {
      for (let i = 0; i < n; i++) {
        const deadline = Date.now() + 10_000;
        while (gates.length === 0) {
          if (Date.now() > deadline) throw new Error('no stepper reached its next step within 10 s');
          await new Promise((r) => setTimeout(r, 5));
        }
        gates.shift()!();
      }
    },
    client(apiKey = KEY_A, options = {}) {
      return new DroverClient({ baseUrl, apiKey, ...options });
    },
    async close() {
      for (const g of gates.splice(0)) g();
      await worker.drain(0);
      await app.close();
      await backend.close();
    },
  };
}

/** Resolves once `check` holds, polling every 10 ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
