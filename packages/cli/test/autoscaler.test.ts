import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAutoscaleArgs } from '../src/autoscale/autoscale-options.js';
import { Autoscaler } from '../src/autoscale/autoscaler.js';
import { ComposeExecutor, type Executor, SwarmExecutor, composeRunning } from '../src/autoscale/executor.js';
import { HPA_DEFAULTS } from '../src/autoscale/hpa-algorithm.js';
import { MetricsTextSource, type MetricSource, PrometheusSource, backlogFromText } from '../src/autoscale/metric-source.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real HTTP server on loopback answering every request with `answer(url)`. */
async function serve(answer: (url: URL) => { status: number; body: string }): Promise<{ base: string; urls: URL[] }> {
  const urls: URL[] = [];
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    urls.push(url);
    const a = answer(url);
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, urls };
}

describe('metric sources', () => {
  it('sends the scaling query to Prometheus and reads the instant vector', async () => {
    const { base, urls } = await serve(() => ({ status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { queue: 'general' }, value: [1, '42'] }] } }) }));
    expect(await PrometheusSource.forQueue(base, 'general').read()).toBe(42);
    expect(urls[0]!.pathname).toBe('/api/v1/query');
    expect(urls[0]!.searchParams.get('query')).toBe('max by (queue) (drover_queue_backlog{queue="general"})');
  });

  it('reads an empty result as no value and a Prometheus error as a failure', async () => {
    let body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } });
    let status = 200;
    const { base } = await serve(() => ({ status, body }));
    expect(await new PrometheusSource(base, 'up').read()).toBeNull();
    status = 400;
    body = JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' });
    await expect(new PrometheusSource(base, 'up{').read()).rejects.toThrow(/400: parse error/);
  });

  it('reads the largest backlog sample of the queue from /metrics text', async () => {
    const text = [
      '# HELP drover_queue_backlog …',
      'drover_queue_backlog{queue="general",region="eu"} 7',
      'drover_queue_backlog{queue="general",region="us"} 9',
      'drover_queue_backlog{queue="generalist"} 100',
      'drover_queue_backlog_other{queue="general"} 500',
    ].join('\n');
    expect(backlogFromText(text, 'general')).toBe(9);
    expect(backlogFromText(text, 'coding')).toBeNull();
    const { base } = await serve(() => ({ status: 200, body: text }));
    expect(await new MetricsTextSource(`${base}/metrics`, 'general').read()).toBe(9);
  });
});

describe('docker executors', () => {
  it('scale with `docker compose up --scale` and count running containers', async () => {
    const calls: string[][] = [];
    const ps = ['{"Name":"w-1","State":"running"}', '{"Name":"w-2","State":"exited"}', '{"Name":"w-3","State":"running"}'].join('\n');
    const compose = new ComposeExecutor('worker', { file: 'compose/compose.yaml', project: 'drover' }, async (file, args) => {
      calls.push([file, ...args]);
      return args.includes('ps') ? ps : '';
    });
    expect(await compose.current()).toBe(2);
    await compose.scale(5);
    expect(calls).toEqual([
      ['docker', 'compose', '-f', 'compose/compose.yaml', '-p', 'drover', 'ps', '--format', 'json', 'worker'],
      ['docker', 'compose', '-f', 'compose/compose.yaml', '-p', 'drover', 'up', '-d', '--no-recreate', '--scale', 'worker=5', 'worker'],
    ]);
    expect(composeRunning('[{"State":"running"},{"State":"running"}]')).toBe(2);
    expect(composeRunning('')).toBe(0);
  });

  it('scale a Swarm service with `docker service scale`', async () => {
    const calls: string[][] = [];
    const swarm = new SwarmExecutor('drover_worker', async (file, args) => {
      calls.push([file, ...args]);
      return args[1] === 'inspect' ? '3\n' : '';
    });
    expect(await swarm.current()).toBe(3);
    await swarm.scale(7);
    expect(calls[1]).toEqual(['docker', 'service', 'scale', '--detach', 'drover_worker=7']);
    await expect(new SwarmExecutor('g', async () => '<no value>').current()).rejects.toThrow(/not a replicated service/);
  });
});

class CountingExecutor implements Executor {
  readonly describe = 'counter';
  readonly applied: number[] = [];
  constructor(private n: number) {}
  async current() {
    return this.n;
  }
  async scale(r: number) {
    this.applied.push(r);
    this.n = r;
  }
}

describe('the autoscaler loop', () => {
  const hpa = { ...HPA_DEFAULTS, minReplicas: 1, maxReplicas: 10, targetPerReplica: 10 };

  it('applies each decision and records it', async () => {
    const backlog = 40;
    const source: MetricSource = { describe: 'x', read: async () => backlog };
    const executor = new CountingExecutor(1);
    let now = 0;
    const a = new Autoscaler({ hpa, source, executor, syncPeriodMs: 15_000, failureThreshold: 3, fallbackReplicas: undefined, clock: () => now });
    await a.sync();
    now += 15_000;
    await a.sync();
    expect(executor.applied).toEqual([4]);
    expect(a.timeline.map((e) => [e.backlog, e.current, e.replicas])).toEqual([
      [40, 1, 4],
      [40, 4, 4],
    ]);
  });

  it('keeps the count while the metric is missing, then falls back after the threshold', async () => {
    const source: MetricSource = {
      describe: 'down',
      read: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const executor = new CountingExecutor(5);
    const a = new Autoscaler({ hpa, source, executor, syncPeriodMs: 1, failureThreshold: 3, fallbackReplicas: 2 });
    await a.sync();
    await a.sync();
    expect(executor.applied).toEqual([]);
    await a.sync();
    expect(executor.applied).toEqual([2]);
    expect(a.timeline.at(-1)!.reason).toMatch(/ECONNREFUSED.*3 failures: fallback/);
  });
});

describe('drover autoscale flags', () => {
  it('maps flags onto the HPA fields', () => {
    const o = parseAutoscaleArgs(['--queue', 'coding', '--prometheus', 'http://127.0.0.1:9090', '--executor', 'compose', '--service', 'worker', '--min', '2', '--max', '8', '--target', '20', '--scale-down-window', '60']);
    expect(o.hpa).toMatchObject({ minReplicas: 2, maxReplicas: 8, targetPerReplica: 20, tolerance: 0.1 });
    expect(o.hpa.scaleDown.stabilizationWindowSeconds).toBe(60);
    expect(o.executor).toEqual({ kind: 'compose', service: 'worker', file: undefined, project: undefined });
  });

  it.each([
    [['--prometheus', 'http://p', '--executor', 'process'], /--queue is required/],
    [['--queue', 'g', '--executor', 'process'], /a metric is required/],
    [['--queue', 'g', '--prometheus', 'ftp://p', '--executor', 'process'], /http\(s\) URL/],
    [['--queue', 'g', '--prometheus', 'http://p', '--executor', 'k8s'], /compose, swarm or process/],
    [['--queue', 'g', '--prometheus', 'http://p', '--executor', 'compose'], /--service is required/],
    [['--queue', 'g', '--prometheus', 'http://p', '--executor', 'process', '--min', '3', '--max', '2'], /must not exceed/],
    [['--queue', 'g', '--prometheus', 'http://p', '--executor', 'process', '--max', '1e3'], /--max must be a whole number/],
    [['--queue', 'g', '--prometheus', 'http://p', '--executor', 'process', '--bogus'], /Unknown option/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseAutoscaleArgs(argv)).toThrow(message);
  });
});
