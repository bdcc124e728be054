import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { type Backend, type TaskRecord, createBackend, loadConfig } from '@drover/shared';
import { RabbitmqServer, RedisServer, freePort, uniqueName } from '@drover/testkit';
import { Redis } from 'ioredis';
import { ServiceProcess, waitReady } from '../support/service-process.js';
import { RoundRobinProxy } from './round-robin-proxy.js';

/**
 * The chaos suite (issue 14): a private Redis (AOF everysec), on rabbitmq a private broker, 3
 * orchestrators behind a round-robin proxy, 4 workers, and a client driving `tasks` submissions
 * (one in ten a parent with two children) through the proxy, retrying every unacknowledged one
 * with its idempotency key, while the faults below hit the cluster. At the end every task record
 * is read back and the table of figures is built. test/chaos/run.ts runs it in full and writes the
 * table to docs/reliability.md; test/chaos/chaos.test.ts runs a short form in CI.
 */
export interface ChaosOptions {
  backend: 'bullmq' | 'rabbitmq';
  /** Submissions (roots); one in ten is a parent with two children. */
  tasks: number;
  /** Each task sleeps between these (ms). */
  leafMs: [number, number];
  /** How often a random worker is SIGKILLed (and restarted), for as long as the run lasts. */
  killEveryMs: number;
  /** The one-off faults start this far apart. */
  faultSpacingMs: number;
  log?: (line: string) => void;
}

export interface FaultRecord {
  kind: string;
  at: number;
  /** ms from the fault until the cluster served again: worker faults, until every task in flight on it finished elsewhere; the others, until a new leader led, or a task a probe tenant submitted ran to its end. */
  recoveryMs: number;
  /** Tasks the worker had in flight (worker faults). */
  inFlight: number;
}

export interface ChaosReport {
  options: ChaosOptions;
  submitted: number;
  acknowledged: number;
  /** HTTP requests made for the submissions (retries included). */
  requests: number;
  completed: number;
  /** Roots that ended failed or canceled, by error code. */
  failed: Record<string, number>;
  lost: number;
  duplicates: number;
  /** Records with a key no submission or spawn of the run gives (or none). */
  unexpected: number;
  fencedResults: number;
  /** Attempts (claims) beyond the first of leaf tasks. */
  reexecutions: number;
  /** Handler runs beyond the first of leaf tasks, and how many of those followed a run cut short by a fault (its worker hit, or Redis or the broker restarted while it ran). */
  reruns: number;
  rerunsExplained: number;
  parentResumes: number;
  records: number;
  faults: FaultRecord[];
  durationMs: number;
}

const LEASE_MS = 2000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const redis = await RedisServer.start({ aof: true });
  const broker = options.backend === 'rabbitmq' ? await RabbitmqServer.start() : undefined;
  const key = `chaos-${randomBytes(12).toString('hex')}`;
  // The recovery probes run as a tenant of their own: fair dispatch serves it at once, so a probe
  // measures whether the cluster serves again, not how long the run's backlog is.
  const probeApiKey = `probe-${randomBytes(12).toString('hex')}`;
  const prefix = uniqueName('chaos');
  const probeKey = `${prefix}:probe`;
  const env: Record<string, string> = {
    DROVER_BACKEND: options.backend,
    DROVER_REDIS_URL: redis.url,
    DROVER_PREFIX: prefix,
    DROVER_API_KEYS: `acme:${key},probe:${probeApiKey}`,
    DROVER_LOG_LEVEL: 'warn',
    DROVER_HOST: '127.0.0.1',
    DROVER_DRAIN_DELAY_MS: '0',
    DROVER_TASK_LEASE_MS: String(LEASE_MS),
    DROVER_WORKER_CONCURRENCY: '8',
    DROVER_WORKER_PORT: '0',
    DROVER_SHUTDOWN_GRACE_MS: '3000',
    DROVER_TEST_PROBE_KEY: probeKey,
    ...(broker ? { DROVER_AMQP_URL: broker.url } : {}),
  };
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const orchestrators: Array<ServiceProcess | undefined> = [];
  const workers: Array<ServiceProcess | undefined> = [];
  const everyProcess: ServiceProcess[] = [];
  /** Set once the run ends: a fault's restart still under way must not start anything more. */
  let ending = false;
  const startOrchestrator = async (i: number) => {
    if (ending) return;
    const o = ServiceProcess.start(`orchestrator-${i}`, 'packages/orchestrator/src/main.ts', { ...env, DROVER_PORT: String(ports[i]), DROVER_INSTANCE: `orch-${i}` });
    orchestrators[i] = o;
    everyProcess.push(o);
    try {
      await waitReady(`http://127.0.0.1:${ports[i]}/readyz`, o, 60_000);
    } catch (err) {
      o.signal('SIGKILL'); // the next start replaces it: none may outlive the suite
      throw err;
    }
  };
  /** As a supervisor (Kubernetes, systemd) does: start again until it stays up; a start during a Redis restart exits. */
  const restart = async (what: string, start: () => Promise<void>) => {
    for (let k = 0; k < 20 && !ending; k++) {
      try {
        return await start();
      } catch (err) {
        const why = String(err).split('\n').find((line) => /failed to start|exited|not ready/.test(line)) ?? String(err).split('\n')[0];
        log(`${what} did not start (${why?.slice(0, 200)}); starting it again`);
        await sleep(500);
      }
    }
  };
  const startWorker = async (i: number) => {
    if (ending) return;
    const w = ServiceProcess.start(`worker-${i}`, 'test/chaos/chaos-worker.ts', { ...env, DROVER_INSTANCE: `worker-${i}` });
    workers[i] = w;
    everyProcess.push(w);
    const deadline = Date.now() + 60_000;
    while (!w.tail().includes('worker ready')) {
      if (!w.running || Date.now() > deadline) {
        w.signal('SIGKILL'); // the next start replaces it: none may outlive the suite
        throw new Error(`worker-${i} did not start:\n${w.tail()}`);
      }
      await sleep(20);
    }
  };
  const proxy = await RoundRobinProxy.start(() => ports.filter((_, i) => orchestrators[i]?.running));
  const probe = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  let backend: Backend | undefined;
  const faults: FaultRecord[] = [];
  const victims = new Set<string>();
  /** Worker processes a fault hit (killed, stopped, terminated). */
  const faultedPids = new Set<string>();
  /** When Redis or the broker went down (ms): a run in flight across one may be cut short. */
  const restarts: number[] = [];

  try {
    await Promise.all([0, 1, 2].map(startOrchestrator));
    await Promise.all([0, 1, 2, 3].map(startWorker));
    log(`${options.backend}: 3 orchestrators behind a proxy on :${proxy.port}, 4 workers x 8, ${options.tasks} submissions`);
    const api = new Api(proxy.port, key);
    const probeApi = new Api(proxy.port, probeApiKey);

    // The client: every submission retried with its idempotency key until acknowledged.
    let acknowledged = 0;
    let requests = 0;
    const roots = new Map<number, string>();
    let next = 0;
    const submitOne = async (n: number) => {
      const parent = n % 10 === 0;
      const ms = options.leafMs[0] + ((n * 7919) % (options.leafMs[1] - options.leafMs[0] + 1));
      const body = { type: parent ? 'chaos-parent' : 'chaos-leaf', input: { ms, n }, maxAttempts: 3 };
      for (let k = 0; ; k++) {
        requests++;
        const res = await api.post('/v1/tasks', body, { 'idempotency-key': `chaos-${n}` }).catch(() => null);
        if (res && (res.status === 201 || res.status === 200)) {
          roots.set(n, (res.body as { id: string }).id);
          acknowledged++;
          return;
        }
        if (res && res.status < 500 && res.status !== 429) throw new Error(`submission ${n} refused: ${res.status} ${JSON.stringify(res.body)}`);
        await sleep(Math.min(1000, 50 * 2 ** Math.min(k, 5)) + Math.random() * 50);
      }
    };
    const submitting = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < options.tasks) await submitOne(next++);
      }),
    );

    // The faults.
    let done = false;
    const alive = (list: Array<ServiceProcess | undefined>) => list.flatMap((p, i) => (p?.running ? [i] : []));
    const inFlightOn = async (w: ServiceProcess) => (w.pid ? await probe.smembers(`${probeKey}:running:${w.pid}`).catch(() => []) : []);
    /** Every task in flight on any worker (a Redis or broker restart hits them all). */
    const inFlightAll = async () => {
      const keys = await probe.keys(`${probeKey}:running:*`).catch(() => []);
      return keys.length === 0 ? [] : await probe.sunion(...keys).catch(() => []);
    };
    /** Waits until every listed task has finished (read through the proxy), at most a minute. */
    const finishedAll = async (ids: string[]) => {
      const until = Date.now() + 60_000;
      for (const id of ids) {
        while (Date.now() < until) {
          const res = await api.get(`/v1/tasks/${id}`).catch(() => null);
          const status = (res?.body as { status?: string } | undefined)?.status;
          if (status === 'succeeded' || status === 'failed' || status === 'canceled') break;
          await sleep(50);
        }
      }
    };
    /** Until a submission through the proxy is acknowledged and its task runs. */
    const serving = async () => {
      for (;;) {
        const res = await probeApi.post('/v1/tasks?wait=5000', { type: 'echo', input: { probe: true } }).catch(() => null);
        if (res?.status === 201 && (res.body as { status: string }).status === 'succeeded') return;
        await sleep(50);
      }
    };
    const workerFault = async (kind: string, act: (w: ServiceProcess, i: number) => Promise<void>) => {
      const i = pick(alive(workers));
      if (i === undefined) return;
      const w = workers[i]!;
      if (w.pid) faultedPids.add(String(w.pid));
      const ids = await inFlightOn(w);
      for (const id of ids) victims.add(id);
      const at = Date.now();
      await act(w, i);
      await finishedAll(ids);
      faults.push({ kind, at: at - started, recoveryMs: Date.now() - at, inFlight: ids.length });
    };
    const killLoop = (async () => {
      await sleep(options.killEveryMs / 2);
      while (!done) {
        await workerFault('SIGKILL a random worker', async (w, i) => {
          w.signal('SIGKILL');
          await w.exited;
          void sleep(300).then(() => restart(`worker-${i}`, () => startWorker(i)));
        });
        await sleep(options.killEveryMs);
      }
    })();
    const oneOffs: Array<[string, () => Promise<number>]> = [
      [
        'SIGKILL the leader orchestrator',
        async () => {
          const leader = await leaderOf(ports, alive(orchestrators));
          if (leader === undefined) return 0;
          orchestrators[leader]!.signal('SIGKILL');
          const at = Date.now();
          await orchestrators[leader]!.exited;
          const others = alive(orchestrators);
          while ((await leaderOf(ports, others)) === undefined) await sleep(50);
          const took = Date.now() - at;
          void restart(`orchestrator-${leader}`, () => startOrchestrator(leader));
          return took;
        },
      ],
      [
        'restart Redis (SIGKILL, 1 s down)',
        async () => {
          for (const id of await inFlightAll()) victims.add(id);
          const at = Date.now();
          restarts.push(at);
          await redis.kill();
          await sleep(1000);
          await redis.launch();
          await serving();
          return Date.now() - at;
        },
      ],
      ['SIGTERM a worker with tasks in flight', async () => -1],
      ['SIGSTOP a worker past its lease (a zombie)', async () => -1],
      ...(broker
        ? ([
            [
              'restart the broker',
              async () => {
                for (const id of await inFlightAll()) victims.add(id);
                const at = Date.now();
                restarts.push(at);
                await broker.restart();
                await serving();
                return Date.now() - at;
              },
            ],
          ] as Array<[string, () => Promise<number>]>)
        : []),
    ];
    const oneOffLoop = (async () => {
      for (const [kind, act] of oneOffs) {
        await sleep(options.faultSpacingMs);
        if (kind.startsWith('SIGTERM')) {
          await workerFault(kind, async (w, i) => {
            w.signal('SIGTERM');
            await w.exited;
            void restart(`worker-${i}`, () => startWorker(i));
          });
        } else if (kind.startsWith('SIGSTOP')) {
          await workerFault(kind, async (w) => {
            w.signal('SIGSTOP');
            await sleep(LEASE_MS + 1500);
            w.signal('SIGCONT');
          });
        } else {
          const at = Date.now();
          const recoveryMs = await act();
          faults.push({ kind, at: at - started, recoveryMs, inFlight: 0 });
        }
        log(`${options.backend}: ${kind} done at ${Date.now() - started} ms`);
      }
    })();

    await submitting;
    await oneOffLoop;
    log(`${options.backend}: ${acknowledged} of ${options.tasks} acknowledged after ${requests} requests; draining`);
    // Drain: until no task is unfinished (read straight from the backend: every record).
    backend = await createBackend(loadConfig(env));
    const deadline = Date.now() + 180_000;
    let records: TaskRecord[] = [];
    for (;;) {
      records = await allRecords(backend);
      const open = records.filter((r) => !['succeeded', 'failed', 'canceled'].includes(r.status));
      if (open.length === 0 && records.filter((r) => r.type !== 'echo' && r.parentId === null).length >= acknowledged) break;
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    done = true;
    await killLoop;
    records = await allRecords(backend);

    // The figures.
    const chaos = records.filter((r) => r.type.startsWith('chaos-'));
    const byId = new Map(chaos.map((r) => [r.id, r]));
    const failed: Record<string, number> = {};
    let completed = 0;
    let lost = 0;
    for (const id of roots.values()) {
      const r = byId.get(id);
      if (!r || !['succeeded', 'failed', 'canceled'].includes(r.status)) lost++;
      else if (r.status === 'succeeded') completed++;
      else failed[r.error?.code ?? r.status] = (failed[r.error?.code ?? r.status] ?? 0) + 1;
    }
    const keys = new Map<string, number>();
    for (const r of chaos) if (r.idempotencyKey) keys.set(r.idempotencyKey, (keys.get(r.idempotencyKey) ?? 0) + 1);
    const duplicates = [...keys.values()].reduce((a, n) => a + (n - 1), 0);
    // Records no submission or spawn should have made: a key outside chaos-<n> and
    // drover-spawn:<an acknowledged parent>:<0|1>, or none at all.
    const expected = new Set<string>();
    for (const [n, id] of roots) {
      expected.add(`chaos-${n}`);
      if (n % 10 === 0) for (const k of [0, 1]) expected.add(`drover-spawn:${id}:${k}`);
    }
    const unexpected = chaos.filter((r) => !r.idempotencyKey || !expected.has(r.idempotencyKey));
    for (const r of unexpected.slice(0, 10)) log(`unexpected record: ${JSON.stringify({ id: r.id, type: r.type, key: r.idempotencyKey, status: r.status, parentId: r.parentId, attempt: r.attempt, createdAt: r.createdAt, error: r.error })}`);
    const fencedResults = chaos.filter((r) => r.status === 'succeeded' && (r.output as { attempt?: number } | null)?.attempt !== r.attempt).length;
    const leaves = chaos.filter((r) => r.type === 'chaos-leaf');
    const reexecuted = leaves.filter((r) => r.attempt > 1);
    // Handler runs, from the pids each leaf's handler starts appended: a claim whose worker died
    // before the handler began is an attempt, not a run.
    const pipe = probe.pipeline();
    for (const r of leaves) pipe.lrange(`${probeKey}:starts:${r.id}`, 0, -1);
    const starts = ((await pipe.exec()) ?? []).map(([, v]) => (v as string[] | null) ?? []);
    let reruns = 0;
    let rerunsExplained = 0;
    const unexplained: string[] = [];
    leaves.forEach((r, i) => {
      const runs = starts[i]!.map((entry) => {
        const [pid, at] = entry.split('@');
        return { pid: pid!, at: Number(at) };
      });
      if (runs.length < 2) return;
      reruns += runs.length - 1;
      // Each run but the last was cut short: on a worker a fault hit, or by a Redis or broker
      // restart that came while it ran (after it started, before the next run did).
      const cut = runs.slice(0, -1).filter((run, k) => faultedPids.has(run.pid) || victims.has(r.id) || restarts.some((t) => t >= run.at && t <= runs[k + 1]!.at)).length;
      rerunsExplained += cut;
      if (cut < runs.length - 1) unexplained.push(`${r.id} (runs ${runs.map((x) => `on ${x.pid} at ${x.at - started} ms`).join(', ')})`);
    });
    const idle = leaves
      .map((r, i) => ({ r, runs: starts[i]!.length })).filter(({ r, runs }) => r.attempt - runs > 1);
    if (idle.length > 0) log(`leaves claimed more often than run: ${idle.length}, e.g. ${idle.slice(0, 5).map(({ r, runs }) => `${r.id} attempt ${r.attempt} runs ${runs} started ${Date.parse(r.startedAt ?? '') - started} ms`).join('; ')}`);
    if (unexplained.length > 0) {
      log(`handler re-runs not explained by a fault: ${unexplained.length}: ${unexplained.slice(0, 5).join('; ')}; faulted pids ${[...faultedPids].join(', ')}; Redis/broker restarts at ${restarts.map((t) => t - started).join(', ')} ms`);
    }
    return {
      options,
      submitted: options.tasks,
      acknowledged,
      requests,
      completed,
      failed,
      lost,
      duplicates,
      unexpected: unexpected.length,
      fencedResults,
      reexecutions: reexecuted.reduce((a, r) => a + r.attempt - 1, 0),
      reruns,
      rerunsExplained,
      parentResumes: chaos.filter((r) => r.type === 'chaos-parent').reduce((a, r) => a + r.attempt - 1, 0),
      records: chaos.length,
      faults,
      durationMs: Date.now() - started,
    };
  } finally {
    await backend?.close().catch(() => undefined);
    ending = true;
    // Every process it ever started, not only the current ones: a replaced one (a SIGTERMed worker
    // still draining, a start given up on) must not outlive the suite.
    for (const p of everyProcess) p.signal('SIGCONT');
    await Promise.all(everyProcess.map((p) => p.stop()));
    probe.disconnect();
    await proxy.close();
    await broker?.stop();
    await redis.stop();
  }
}

/** The table of a run, as markdown. */
export function chaosTable(r: ChaosReport): string {
  const failed = Object.entries(r.failed);
  const worst = new Map<string, FaultRecord & { times: number }>();
  for (const f of r.faults) {
    const w = worst.get(f.kind);
    worst.set(f.kind, { ...f, recoveryMs: Math.max(f.recoveryMs, w?.recoveryMs ?? 0), inFlight: Math.max(f.inFlight, w?.inFlight ?? 0), times: (w?.times ?? 0) + 1 });
  }
  const lines = [
    `| figure | ${r.options.backend} |`,
    '|---|---:|',
    `| submitted (roots; one in ten a parent with 2 children) | ${r.submitted} |`,
    `| acknowledged (2xx, after ${r.requests} requests with retries) | ${r.acknowledged} |`,
    `| completed (roots succeeded) | ${r.completed} |`,
    `| ended failed | ${failed.length === 0 ? 0 : failed.map(([c, n]) => `${n} ${c}`).join(', ')} |`,
    `| **lost** (acknowledged, never finished) | **${r.lost}** |`,
    `| **duplicate task records** (same idempotency or spawn key) | **${r.duplicates}** |`,
    `| records no submission or spawn made (unknown key) | ${r.unexpected} |`,
    `| **results written by a fenced-off attempt** | **${r.fencedResults}** |`,
    `| re-executions: leaf handler runs beyond the first | ${r.reruns}, ${r.rerunsExplained} of them after a run a fault cut short (its worker killed, frozen or stopped, or Redis or the broker restarted under it) |`,
    `| leaf attempts beyond the first (claims, runs included) | ${r.reexecutions} |`,
    `| parent resumes (suspended on children, woken) | ${r.parentResumes} |`,
    `| task records read back | ${r.records} |`,
    `| run time | ${(r.durationMs / 1000).toFixed(1)} s |`,
  ];
  for (const [kind, f] of worst) {
    lines.push(`| longest recovery: ${kind}${f.times > 1 ? ` (${f.times} times)` : ''} | ${f.recoveryMs} ms${f.inFlight > 0 ? ` (${f.inFlight} tasks in flight)` : ''} |`);
  }
  return lines.join('\n');
}

class Api {
  constructor(
    private readonly port: number,
    private readonly key: string,
  ) {}

  post(path: string, body: unknown, headers: Record<string, string> = {}) {
    return this.call('POST', path, body, headers);
  }

  get(path: string) {
    return this.call('GET', path, undefined, {});
  }

  /** One request on a fresh connection (no keep-alive), so the proxy spreads them. */
  private call(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: false,
          timeout: 10_000,
          headers: { authorization: `Bearer ${this.key}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

async function leaderOf(ports: number[], indexes: number[]): Promise<number | undefined> {
  for (const i of indexes) {
    const text = await fetch(`http://127.0.0.1:${ports[i]}/metrics`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.text(),
      () => '',
    );
    if (/^drover_leader(?:\{[^}]*\})? 1$/m.test(text)) return i;
  }
  return undefined;
}

async function allRecords(backend: Backend): Promise<TaskRecord[]> {
  const out: TaskRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await backend.list({ tenant: 'acme', limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

function pick(xs: number[]): number | undefined {
  return xs.length === 0 ? undefined : xs[Math.floor(Math.random() * xs.length)];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
