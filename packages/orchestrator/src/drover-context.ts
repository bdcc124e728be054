import type { Backend, DroverConfig, LeaderElection, QueueMetrics, Registry, TaskMetrics, Tracer } from '@drover/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Admission } from './admission.js';
import type { Authenticator } from './auth.js';
import type { QueueSignalCache } from './queue-signal-cache.js';
import type { Submissions } from './submission.js';
import type { TaskCatalog } from './task-catalog.js';
import type { TaskWaiter } from './task-waiter.js';
import type { EventLog } from './event-log.js';
import type { Scheduler } from './scheduler.js';
import type { TenantRate } from './tenant-rate.js';

/** What the route plugins share; built once by buildApp and decorated on the root instance. */
export interface DroverContext {
  readonly config: DroverConfig;
  readonly backend: Backend;
  readonly auth: Authenticator;
  readonly catalog: TaskCatalog;
  readonly submissions: Submissions;
  readonly admission: Admission;
  /** Per-tenant submission rates (DROVER_TENANT_SUBMIT_RATE). */
  readonly tenantRate: TenantRate;
  readonly waiter: TaskWaiter;
  /** Recent task events for SSE streams (every replica records every event). */
  readonly events: EventLog;
  readonly registry: Registry;
  readonly taskMetrics: TaskMetrics;
  readonly queueMetrics: QueueMetrics;
  readonly queueSignals: QueueSignalCache;
  readonly queues: ReadonlySet<string>;
  /** Fires the schedules (every replica runs one; only the leader's fires: see scheduler.ts). */
  readonly scheduler: Scheduler;
  /** The leader lease every replica campaigns for (leader-lease.ts in @drover/shared). */
  readonly leader: LeaderElection;
  /** Traces submissions when tracing is on (OTEL_*). */
  readonly tracer: Tracer | undefined;
  /** Set on SIGTERM (or when the app closes): /readyz answers 503 so load balancers move away. */
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    drover: DroverContext;
  }
}

/**
 * Decorates `app.drover` once for every route plugin, and ties the collaborators' lifecycles
 * to the app's: warm caches when ready, release long-polls on close.
 */
export const droverContextPlugin = fp<{ context: DroverContext }>(
  async (app: FastifyInstance, { context }) => {
    app.decorate('drover', context);
    app.addHook('onReady', async () => {
      await Promise.all([context.catalog.refresh(), context.admission.warm(context.config.queues), context.events.start(context.backend)]);
      context.leader.start();
      context.scheduler.start();
    });
    app.addHook('preClose', async () => {
      context.draining = true;
      context.waiter.stop();
      context.events.stop();
      await context.scheduler.stop();
      await context.leader.stop();
    });
  },
  { name: 'drover-context' },
);
