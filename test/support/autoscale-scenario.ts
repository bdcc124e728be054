import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { PrometheusServer, freePort, waitUntil } from '@drover/testkit';
import { type AutoscaleEvent, Autoscaler } from '../../packages/cli/src/autoscale/autoscaler.js';
import { HPA_DEFAULTS, type HpaOptions } from '../../packages/cli/src/autoscale/hpa-algorithm.js';
import { PrometheusSource } from '../../packages/cli/src/autoscale/metric-source.js';
import { ProcessExecutor } from '../../packages/cli/src/autoscale/process-executor.js';
import { ApiClient, inParallel } from './api-client.js';
import { ServiceProcess, waitReady } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The burst the autoscaling issue names, run three ways on one orchestrator, one Redis and one
 * Prometheus: a fixed pool of the minimum size, a fixed pool of the maximum size, and a pool that
 * `drover autoscale`'s loop sizes from the live scaling query through the local-process executor.
 */
export interface ScenarioOptions {
  redisUrl: string;
  tasks: number;
  taskMs: number;
  concurrency: number;
  min: number;
  max: number;
  /** The worker command; tsx from source in tests, the compiled dist/ in the benchmark. */
  workerCommand?: string;
  /** Prometheus's scrape interval and the autoscaler's sync period; 1 s unless set. */
  periodSeconds?: number;
  log?: (line: string) => void;
}

export interface DrainResult {
  mode: string;
  drainMs: number;
  /** Worker processes alive (starting and draining ones included), integrated over the drain. */
  workerSeconds: number;
  /** Auto only: from the burst's submission until the pool was back at the minimum. */
  cycleMs?: number;
  /** Auto only: worker-seconds over that whole cycle. */
  cycleWorkerSeconds?: number;
  peak: number;
  timeline: AutoscaleEvent[];
  /** Replicas once the autoscaler had scaled back down (auto only). */
  settled?: number;
  settleMs?: number;
}

export class AutoscaleScenario {
  private constructor(
    private readonly o: ScenarioOptions,
    private readonly env: Record<string, string>,
    private readonly orchestrator: ServiceProcess,
    private readonly api: ApiClient,
    readonly prometheus: PrometheusServer,
  ) {}

  static async start(o: ScenarioOptions): Promise<AutoscaleScenario> {
    const key = `as-${randomBytes(12).toString('hex')}`;
    const port = await freePort();
    const env = {
      DROVER_REDIS_URL: o.redisUrl,
      DROVER_PREFIX: `as${randomBytes(4).toString('hex')}`,
      DROVER_API_KEYS: `scale:${key}`,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_METRICS_CACHE_MS: '250',
      DROVER_HEARTBEAT_MS: '500',
      DROVER_WORKER_HOST: '127.0.0.1',
      DROVER_WORKER_QUEUES: 'general',
      DROVER_WORKER_CONCURRENCY: String(o.concurrency),
      DROVER_SHUTDOWN_GRACE_MS: '10000',
    };
    const orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', env);
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    const prometheus = await PrometheusServer.start({
      scrapeIntervalSeconds: o.periodSeconds ?? 1,
      ruleFiles: [resolve(ROOT, 'deploy/prometheus/drover-rules.yml')],
      jobs: [{ job: 'drover-orchestrator', targets: [`127.0.0.1:${port}`] }],
    });
    return new AutoscaleScenario(o, env, orchestrator, new ApiClient(`http://127.0.0.1:${port}`, key), prometheus);
  }

  async stop(): Promise<void> {
    await this.prometheus.stop();
    await this.orchestrator.stop();
  }

  private executor(): ProcessExecutor {
    const command = this.o.workerCommand ?? `${process.execPath} --conditions=@drover/source --import tsx packages/worker/src/main.ts`;
    return new ProcessExecutor({ command, cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...this.env } });
  }

  private async succeeded(): Promise<number> {
    const r = await this.api.request('GET', '/v1/queues');
    return r.body.queues.find((q: { name: string }) => q.name === 'general')?.succeeded ?? 0;
  }

  private async ready(executor: ProcessExecutor): Promise<void> {
    for (const w of executor.workers()) {
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${w.port}/readyz`).catch(() => undefined))?.status === 200,
        `worker ${w.name} ready`,
        30_000,
        50,
      );
    }
  }

  /** Submits the burst, then waits until every task of it has succeeded; samples the pool meanwhile. */
  private async burst(sample: () => void): Promise<number> {
    const before = await this.succeeded();
    const started = Date.now();
    const chunks = Array.from({ length: Math.ceil(this.o.tasks / 500) }, (_, i) => Math.min(500, this.o.tasks - i * 500));
    await inParallel(chunks, 4, async (n) => {
      const r = await this.api.request('POST', '/v1/tasks/batch', { tasks: Array.from({ length: n }, () => ({ type: 'sleep', input: { ms: this.o.taskMs } })) });
      if (r.status !== 201) throw new Error(`submit answered ${r.status}: ${JSON.stringify(r.body)}`);
    });
    const timer = setInterval(sample, 100);
    try {
      await waitUntil(async () => (await this.succeeded()) - before >= this.o.tasks, `${this.o.tasks} tasks succeeded`, 300_000, 100);
    } finally {
      clearInterval(timer);
      sample();
    }
    return Date.now() - started;
  }

  async fixed(workers: number): Promise<DrainResult> {
    const executor = this.executor();
    await executor.scale(workers);
    await this.ready(executor);
    let workerMs = 0;
    let last = Date.now();
    const sample = () => {
      const now = Date.now();
      workerMs += executor.alive() * (now - last);
      last = now;
    };
    last = Date.now();
    const drainMs = await this.burst(sample);
    await executor.close();
    return { mode: `fixed ${workers}`, drainMs, workerSeconds: workerMs / 1000, peak: workers, timeline: [] };
  }

  /** Short windows so that a 10-second burst shows the whole cycle; the algorithm is the HPA's. */
  hpa(): HpaOptions {
    return {
      ...HPA_DEFAULTS,
      minReplicas: this.o.min,
      maxReplicas: this.o.max,
      targetPerReplica: this.o.concurrency,
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 1 }, { type: 'Pods', value: this.o.max, periodSeconds: 1 }] },
      scaleDown: { stabilizationWindowSeconds: 3, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 1 }] },
    };
  }

  async autoscaled(): Promise<DrainResult> {
    const executor = this.executor();
    await executor.scale(this.o.min);
    await this.ready(executor);
    const autoscaler = new Autoscaler({
      hpa: this.hpa(),
      source: PrometheusSource.forQueue(this.prometheus.url, 'general'),
      executor,
      syncPeriodMs: (this.o.periodSeconds ?? 1) * 1000,
      failureThreshold: 0,
      fallbackReplicas: undefined,
      log: (e) => this.o.log?.(`  ${new Date(e.at).toISOString().slice(11, 23)} backlog=${e.backlog ?? '-'} ${e.current} -> ${e.replicas} (${e.reason})`),
    });
    // Wait for the signal to show the empty queue before the burst, so every decision is on live data.
    await waitUntil(async () => (await this.prometheus.queryScalar(`max by (queue) (drover_queue_backlog{queue="general"})`)) === 0, 'the scaling query answers 0', 20_000, 200);
    autoscaler.start();
    let workerMs = 0;
    let peak = 0;
    let last = Date.now();
    const sample = () => {
      const now = Date.now();
      const alive = executor.alive();
      workerMs += alive * (now - last);
      peak = Math.max(peak, executor.workers().length);
      last = now;
    };
    try {
      const drainMs = await this.burst(sample);
      const drainWorkerMs = workerMs;
      const t = Date.now();
      const timer = setInterval(sample, 100);
      try {
        await waitUntil(async () => (await executor.current()) === this.o.min && executor.alive() === this.o.min, `the pool back at ${this.o.min}`, 60_000, 100);
      } finally {
        clearInterval(timer);
        sample();
      }
      const settleMs = Date.now() - t;
      return {
        mode: 'autoscaled',
        drainMs,
        workerSeconds: drainWorkerMs / 1000,
        cycleMs: drainMs + settleMs,
        cycleWorkerSeconds: workerMs / 1000,
        peak,
        timeline: [...autoscaler.timeline],
        settled: await executor.current(),
        settleMs,
      };
    } finally {
      await autoscaler.stop();
    }
  }
}
