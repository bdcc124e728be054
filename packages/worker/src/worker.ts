import { followedLogger } from './task-logger.js';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import {
  type AttemptContext,
  type Backend,
  ChildSpawner,
  type ChildHandle,
  type SpawnOptions,
  isSuspend,
  type Consumer,
  DroverError,
  type Logger,
  PermanentError,
  Registry,
  type TaskHandler,
  type TaskMetrics,
  type TaskRecord,
  type TaskTypeInfo,
  type WorkerInfo,
  type WorkerMetrics,
  classifyError,
  createLogger,
  createTaskMetrics,
  createWorkerMetrics,
  epochMs,
  SpanKind,
  contextOf,
  inSpan,
  taskSpanAttributes,
  traceparentOf,
} from '@drover/shared';
import { AgentCap } from './agent-cap.js';
import { AgentStores, type TaskMemory, taskMemory } from './agent-memory.js';
import { type TaskGraph, taskGraph } from './task-graph.js';
import { HeldBack } from './held-back.js';
import { Semaphore } from './semaphore.js';
import type { TaskContext, TaskDefinition, WorkerServices } from './task-definition.js';
import type { WorkerOptions } from './worker-options.js';

export interface Worker {
  readonly id: string;
  readonly registry: Registry;
  /** Registers the task types and starts consuming and heartbeating. */
  start(): Promise<void>;
  /**
   * Stops taking tasks, lets running ones finish within the grace period, aborts the rest (they
   * return to the queue), and removes this worker from the live list. Safe to call twice.
   */
  drain(graceMs?: number): Promise<void>;
  running(): number;
  info(): WorkerInfo;
  readonly draining: boolean;
  /** Most tasks this process ever ran at once (proves the cap held). */
  readonly peakRunning: number;
}

interface CompiledTask {
  definition: TaskDefinition<any>;
  check: TypeCheck<any>;
  slots: Semaphore | undefined;
  metrics: TypeMetrics;
}

/**
 * Metric children bound to one task type, so the per-task path does not hash label sets.
 */
class TypeMetrics {
  readonly wait;
  private readonly byOutcome = new Map<string, { finished: { inc(): void }; run: { observe(v: number): void } }>();

  constructor(
    private readonly metrics: TaskMetrics,
    private readonly type: string,
  ) {
    this.wait = metrics.waitSeconds.labels({ type });
  }

  outcome(outcome: string, runSeconds: number): void {
    let children = this.byOutcome.get(outcome);
    if (!children) {
      children = {
        finished: this.metrics.finished.labels({ type: this.type, outcome }),
        run: this.metrics.runSeconds.labels({ type: this.type, outcome }),
      };
      this.byOutcome.set(outcome, children);
    }
    children.finished.inc();
    children.run.observe(runSeconds);
  }
}

const DEFAULT_QUEUE = 'general';

export function createWorker(options: WorkerOptions): Worker {
  return new DroverWorker(options);
}

class DroverWorker implements Worker {
  readonly id: string;
  readonly registry: Registry;
  private readonly backend: Backend;
  private readonly log: Logger;
  private readonly tasks = new Map<string, CompiledTask>();
  private readonly slots: Semaphore;
  private readonly agents: AgentCap | undefined;
  private readonly held: HeldBack | undefined;
  private readonly queues: string[];
  private readonly consumers: Consumer[] = [];
  private readonly taskMetrics: TaskMetrics;
  private readonly workerMetrics: WorkerMetrics;
  private readonly startedAt = new Date().toISOString();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private drainPromise: Promise<void> | undefined;
  private active = 0;
  private readonly stores: AgentStores;
  draining = false;

  constructor(private readonly options: WorkerOptions) {
    this.backend = options.backend;
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.log = (options.logger ?? createLogger({ service: 'worker', instance: this.id, region: 'local', level: 'silent' })).child({ worker: this.id });
    this.registry = options.registry ?? new Registry();
    this.stores = new AgentStores({ memory: options.memory, graph: options.graph, logger: this.log });
    const concurrency = options.concurrency ?? 3;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.slots = new Semaphore(concurrency);
    if (options.tenantMaxRunning !== undefined || options.tasks.some((t) => t.concurrencyKey)) {
      this.held = new HeldBack(this.backend, this.id, options.agentLeaseMs ?? 30_000, (err) => this.log.warn({ err }, 'held-back caps: the permit store did not answer'));
    }
    if (options.maxAgents !== undefined) {
      this.agents = new AgentCap({
        store: this.backend.agentPermits,
        holder: this.id,
        limit: options.maxAgents,
        leaseMs: options.agentLeaseMs ?? 30_000,
        onError: (err) => this.log.warn({ err }, 'agent cap: the permit store did not answer'),
      });
    }
    for (const definition of options.tasks) {
      if (this.tasks.has(definition.name)) throw new TypeError(`task type ${definition.name} is defined twice`);
      this.tasks.set(definition.name, {
        definition,
        check: TypeCompiler.Compile(definition.input),
        slots: definition.concurrency ? new Semaphore(definition.concurrency) : undefined,
        metrics: undefined as unknown as TypeMetrics, // bound below, once the registry exists
      });
    }
    this.queues = options.queues ?? [...new Set(options.tasks.map((t) => t.queue ?? DEFAULT_QUEUE))];
    this.taskMetrics = createTaskMetrics(this.registry);
    this.workerMetrics = createWorkerMetrics(this.registry, () => this.active);
    this.workerMetrics.capacity.set(concurrency);
    for (const t of this.tasks.values()) t.metrics = new TypeMetrics(this.taskMetrics, t.definition.name);
  }

  get peakRunning(): number {
    return this.slots.peak;
  }

  running(): number {
    return this.active;
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      hostname: hostname(),
      pid: process.pid,
      queues: this.queues,
      taskTypes: [...this.tasks.keys()],
      concurrency: this.slots.size,
      busy: this.active,
      startedAt: this.startedAt,
      lastSeenAt: new Date().toISOString(),
      draining: this.draining,
    };
  }

  async start(): Promise<void> {
    await this.backend.registerTaskTypes(this.typeInfos());
    const handler: TaskHandler = (task, ctx) => this.run(task, ctx);
    // Each queue may hand over up to the process cap; the shared semaphore keeps the number of
    // handlers actually running at or below it. With one queue per worker (the usual layout)
    // nothing is ever taken that cannot start at once.
    for (const queue of this.queues) {
      this.consumers.push(await this.backend.consume(queue, { concurrency: this.slots.size, handler }));
    }
    await this.beat();
    const every = this.options.heartbeatMs ?? 5000;
    this.heartbeatTimer = setInterval(() => void this.beat(), every);
    this.heartbeatTimer.unref();
    this.log.info({ queues: this.queues, concurrency: this.slots.size, tasks: [...this.tasks.keys()] }, 'worker started');
  }

  drain(graceMs = this.options.shutdownGraceMs ?? 30_000): Promise<void> {
    this.drainPromise ??= this.doDrain(graceMs);
    return this.drainPromise;
  }

  private async doDrain(graceMs: number): Promise<void> {
    this.draining = true;
    this.log.info({ running: this.active, graceMs }, 'draining');
    await this.beat();
    await Promise.all(this.consumers.map((c) => c.close(graceMs)));
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.agents?.close();
    await this.held?.close();
    await this.backend.removeWorker(this.id).catch(() => undefined);
    await this.stores.close().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'closing the memory stores failed'));
    this.log.info('drained');
  }

  private async run(task: TaskRecord, ctx: Parameters<TaskHandler>[1]): Promise<unknown> {
    const compiled = this.tasks.get(task.type);
    if (!compiled) {
      throw new DroverError('NO_HANDLER', `Worker ${this.id} has no handler for task type ${task.type} (queue ${task.queue}); it knows ${[...this.tasks.keys()].join(', ')}.`);
    }
    // Fast path first: a free slot is taken synchronously; only a full cap makes a task wait.
    const typeSlots = compiled.slots;
    if (typeSlots && !typeSlots.tryAcquire()) await typeSlots.acquire(ctx.signal);
    if (!this.slots.tryAcquire()) {
      try {
        await this.slots.acquire(ctx.signal);
      } catch (err) {
        typeSlots?.release();
        throw err;
      }
    }
    // Caps that hold a task back without a slot (its tenant's running cap, its key's
    // concurrency): a task that cannot have them is suspended here and tried again shortly.
    let releaseHeld: (() => void) | undefined;
    const pools = this.held ? this.poolsFor(task, compiled) : undefined;
    if (pools) {
      try {
        releaseHeld = await this.held!.take(pools);
      } catch (err) {
        this.slots.release();
        typeSlots?.release();
        throw err;
      }
    }
    // Last, the cluster's agent cap: only a task that could start at once here holds a permit.
    const agents = this.agents;
    if (agents && !agents.tryTake()) {
      try {
        await agents.acquire(ctx.signal);
      } catch (err) {
        releaseHeld?.();
        this.slots.release();
        typeSlots?.release();
        throw err;
      }
    }
    this.active++;
    const started = Date.now();
    compiled.metrics.wait.observe(Math.max(0, started - epochMs(task.createdAt)) / 1000);
    let outcome = 'succeeded';
    let attempt: AttemptTaskContext | undefined;
    try {
      if (!compiled.check.Check(task.input)) {
        const first = compiled.check.Errors(task.input).First();
        throw new PermanentError(
          `Input does not match the ${task.type} schema${first ? ` at ${first.path || '/'}: ${first.message}` : ''}.`,
          'DROVER_ERR_TASK_INPUT_REJECTED',
        );
      }
      const tracer = this.options.tracer;
      const parent = tracer ? contextOf(task.traceparent) : undefined;
      const span = tracer?.startSpan(`drover.run ${task.type}`, { kind: SpanKind.CONSUMER, attributes: taskSpanAttributes(task) }, parent);
      const run = new AttemptTaskContext(task, ctx, this.log, this.options.services ?? NO_SERVICES, this.backend, compiled.definition, this.stores, span && traceparentOf(span));
      attempt = run;
      if (!span) return await compiled.definition.run(task.input, run);
      return await inSpan(span, parent!, () => compiled.definition.run(task.input, run), (err) => !isSuspend(err));
    } catch (err) {
      outcome = outcomeOf(err, ctx.signal, task);
      throw err;
    } finally {
      this.active--;
      agents?.release();
      releaseHeld?.();
      this.slots.release();
      typeSlots?.release();
      compiled.metrics.outcome(outcome, (Date.now() - started) / 1000);
      // Only tasks of a tree are recorded in the graph: a plain task costs nothing here.
      if (task.parentId || attempt?.spawned) this.stores.recorder.record(task, TREE_STATUS[outcome] ?? 'queued');
    }
  }

  /** The held-back pools a task needs (its key's, then its tenant's), or undefined for none. */
  private poolsFor(task: TaskRecord, compiled: CompiledTask): Array<readonly [string, number]> | undefined {
    const limits = this.options.tenantMaxRunning;
    const tenantLimit = limits ? (limits[task.tenant] ?? limits['*']) : undefined;
    const keyOf = compiled.definition.concurrencyKey;
    if (tenantLimit === undefined && !keyOf) return undefined;
    const pools: Array<readonly [string, number]> = [];
    if (keyOf && compiled.check.Check(task.input)) {
      let key: string | undefined;
      try {
        key = String(keyOf(task.input));
      } catch {
        key = undefined; // a key function that throws puts no key cap on this task
      }
      if (key !== undefined) pools.push([`key:${task.type}:${createHash('sha256').update(key).digest('base64url')}`, compiled.definition.keyConcurrency ?? 1]);
    }
    if (tenantLimit !== undefined) pools.push([`tenant:${task.tenant}`, tenantLimit]);
    return pools.length > 0 ? pools : undefined;
  }

  private async beat(): Promise<void> {
    const every = this.options.heartbeatMs ?? 5000;
    try {
      await this.backend.heartbeat(this.info(), every * 3);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private typeInfos(): TaskTypeInfo[] {
    return [...this.tasks.values()].map(({ definition: d }) => ({
      name: d.name,
      queue: d.queue ?? DEFAULT_QUEUE,
      inputSchema: JSON.parse(JSON.stringify(d.input)) as Record<string, unknown>,
      ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}),
      ...(d.maxAttempts ? { maxAttempts: d.maxAttempts } : {}),
      ...(d.backoffMs !== undefined ? { backoffMs: d.backoffMs } : {}),
      ...(d.description ? { description: d.description } : {}),
    }));
  }
}

const NO_SERVICES: WorkerServices = Object.freeze({});

/** The status a run's outcome leaves its task in, as the graph records it (a run that may be retried: queued). */
const TREE_STATUS: Record<string, TaskRecord['status']> = { succeeded: 'succeeded', suspended: 'waiting', failed: 'failed', canceled: 'canceled' };

/** What a task's run() gets; its logger is made only if the task uses it (pino children cost). */
class AttemptTaskContext implements TaskContext {
  private logger: Logger | undefined;
  private spawner: ChildSpawner | undefined;

  constructor(
    readonly task: TaskRecord,
    private readonly attemptContext: AttemptContext,
    private readonly parentLog: Logger,
    readonly services: WorkerServices,
    private readonly backend: Backend,
    private readonly definition: TaskDefinition<any>,
    private readonly stores: AgentStores,
    private readonly traceparent?: string,
  ) {}

  private memoryView: TaskMemory | undefined;
  private graphView: TaskGraph | undefined;

  /** Whether this run spawned (or found) children: its task is then part of a tree. */
  get spawned(): boolean {
    return this.spawner !== undefined;
  }

  get memory(): TaskMemory {
    this.memoryView ??= taskMemory(() => this.stores.memory(), this.task, this.signal);
    return this.memoryView;
  }

  get graph(): TaskGraph {
    this.graphView ??= taskGraph(() => this.stores.graph(), this.task);
    return this.graphView;
  }

  private children(): ChildSpawner {
    this.spawner ??= new ChildSpawner(this.backend, this.task, this.signal, this.definition.childFailure, this.traceparent);
    return this.spawner;
  }

  spawn(type: string, input: unknown, options?: SpawnOptions): Promise<ChildHandle> {
    return this.children().spawn(type, input, options);
  }

  all(children: Array<ChildHandle | Promise<ChildHandle>>): Promise<unknown[]> {
    return this.children().all(children);
  }

  race(children: Array<ChildHandle | Promise<ChildHandle>>): Promise<unknown> {
    return this.children().race(children);
  }

  get signal(): AbortSignal {
    return this.attemptContext.signal;
  }

  get attempt(): number {
    return this.attemptContext.attempt;
  }

  progress(value: unknown): Promise<void> {
    return this.attemptContext.progress(value);
  }

  get log(): Logger {
    this.logger ??= followedLogger(this.parentLog.child({ task: this.task.id, type: this.task.type, attempt: this.attempt }), (line) =>
      this.backend.publishLog(this.task, line),
    );
    return this.logger;
  }
}

function outcomeOf(err: unknown, signal: AbortSignal, task: TaskRecord): string {
  if (isSuspend(err) && !signal.aborted) return 'suspended';
  if (signal.aborted) {
    const code = (signal.reason as { code?: string } | undefined)?.code;
    if (code === 'DROVER_ERR_TASK_CANCELED') return 'canceled';
    if (code === 'DROVER_ERR_TASK_TIMEOUT') return 'timeout';
    return 'interrupted';
  }
  const e = classifyError(err);
  return e.retryable && task.attempt < task.maxAttempts ? 'retried' : 'failed';
}
