import { type Server, createServer } from 'node:http';
import { RedisServer, freePort, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { ServiceProcess, startFixtureWorker, waitReady } from '../support/service-process.js';

/**
 * OpenTelemetry traces (issue 16): an orchestrator and a worker, each its own process, export
 * OTLP/HTTP JSON to a receiver of the test's own on loopback. One submission of a parent with two
 * scrape children must come back as one trace, span by span: the client's span → the
 * orchestrator's submit → the parent's runs → each child's run → that child's scrape request.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number };
  service: string;
}

const SPAN_KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  const [first] = Object.values(v);
  return first;
}

/** An OTLP/HTTP receiver (POST /v1/traces, JSON encoding) keeping every span it is sent. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: Omit<OtlpSpan, 'service'>[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        const service = String(Object.values(rs.resource.attributes.find((a) => a.key === 'service.name')?.value ?? {})[0]);
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans };
}

describe.each(['bullmq', 'rabbitmq'] as const)('traces on %s', (kind) => {
  const key = 'trace-test-key-0123456789';
  let redis: RedisServer;
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let site: Server;
  let sitePort: number;
  let orchestrator: ServiceProcess;
  let worker: ServiceProcess;
  let api: ApiClient;

  beforeAll(async () => {
    redis = await RedisServer.start();
    receiver = await otlpReceiver();
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><title>t</title><body>traced</body></html>'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    sitePort = (site.address() as { port: number }).port;
    const port = await freePort();
    const env: Record<string, string> = {
      DROVER_BACKEND: kind,
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('trace'),
      DROVER_API_KEYS: `tracer:${key}`,
      DROVER_LOG_LEVEL: 'warn',
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_SCRAPER_ALLOW_HOSTS: `127.0.0.1:${sitePort}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Export within a fraction of a second rather than the default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    if (kind === 'rabbitmq') {
      broker = await testBroker();
      env['DROVER_AMQP_URL'] = broker.url;
    }
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', env);
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
    worker = await startFixtureWorker('traced-worker', env);
    api = new ApiClient(`http://127.0.0.1:${port}`, key);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([orchestrator, worker].filter(Boolean).map((p) => p.stop()));
    await redis?.stop();
    await broker?.stop();
    site?.close();
    receiver?.server.close();
  });

  it('exports one trace of a parent with two children, span by span', async () => {
    // The caller's own span: the submit must continue its trace.
    const clientTrace = 'aa'.repeat(16);
    const clientSpan = 'bb'.repeat(8);
    const urls = [`http://127.0.0.1:${sitePort}/a`, `http://127.0.0.1:${sitePort}/b`];
    const res = await fetch(`${api.baseUrl}/v1/tasks?wait=20000`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', traceparent: `00-${clientTrace}-${clientSpan}-01` },
      body: JSON.stringify({ type: 'pair', input: { urls } }),
    });
    const parent = (await res.json()) as { id: string; status: string; output: unknown; children: string[]; traceparent?: string };
    expect(res.status, JSON.stringify(parent)).toBe(201);
    expect(parent.status, `${JSON.stringify(parent)}\n${worker.tail()}`).toBe('succeeded');
    expect(parent.output).toEqual({ statuses: [200, 200] });
    expect(parent.children).toHaveLength(2);
    expect(parent.traceparent).toMatch(new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));

    // Both children scraped and the parent ran twice (suspended, then resumed): 1 submit, 2 parent
    // runs, 2 child runs, 2 scrape requests.
    const trace = () => receiver.spans.filter((s) => s.traceId === clientTrace);
    await waitUntil(() => trace().length >= 7, 'the 7 spans of the trace', 15_000);
    const spans = trace();
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const ids = new Set(spans.map((s) => s.spanId));
    expect(ids.size, 'every span has its own id').toBe(spans.length);

    const [submit, ...moreSubmits] = byName('drover.submit pair');
    expect(moreSubmits).toHaveLength(0);
    expect(submit).toMatchObject({ parentSpanId: clientSpan, kind: SPAN_KIND.PRODUCER, service: 'drover-orchestrator' });
    expect(attr(submit!, 'drover.task.id')).toBe(parent.id);
    expect(attr(submit!, 'drover.tenant')).toBe('tracer');

    const parentRuns = byName('drover.run pair');
    expect(parentRuns).toHaveLength(2);
    for (const run of parentRuns) {
      expect(run).toMatchObject({ parentSpanId: submit!.spanId, kind: SPAN_KIND.CONSUMER, service: 'drover-fixture-worker' });
      expect(attr(run, 'drover.task.id')).toBe(parent.id);
      expect(run.status?.code ?? 0, 'a suspension is not an error').not.toBe(2);
    }
    // The first run spawned the children; the second (resumed) run read their results.
    const spawner = parentRuns.find((r) => Number(attr(r, 'drover.task.attempt')) === 1)!;
    expect(spawner).toBeDefined();

    const childRuns = byName('drover.run scrape');
    expect(childRuns.map((r) => attr(r, 'drover.task.id')).sort()).toEqual([...parent.children].sort());
    const scrapes = byName('drover.scrape');
    expect(scrapes).toHaveLength(2);
    for (const run of childRuns) {
      expect(run).toMatchObject({ parentSpanId: spawner.spanId, kind: SPAN_KIND.CONSUMER });
      const [scrape, ...more] = scrapes.filter((s) => s.parentSpanId === run.spanId);
      expect(more).toHaveLength(0);
      expect(scrape).toMatchObject({ kind: SPAN_KIND.CLIENT, service: 'drover-fixture-worker' });
      expect(attr(scrape!, 'server.address')).toBe('127.0.0.1');
      expect(Number(attr(scrape!, 'http.response.status_code'))).toBe(200);
      expect(attr(scrape!, 'drover.scrape.mode')).toBe('standard');
    }
    // Nothing of this trace hangs off a span the receiver never saw (but the caller's own).
    for (const s of spans) if (s.parentSpanId && s.parentSpanId !== clientSpan) expect(ids.has(s.parentSpanId), s.name).toBe(true);
  }, 60_000);

  it('a submission without a traceparent starts a trace of its own', async () => {
    const res = await api.request('POST', '/v1/tasks?wait=10000', { type: 'echo', input: { n: 1 } });
    expect(res.status).toBe(201);
    const traceId = /^00-([0-9a-f]{32})-/.exec(res.body.traceparent)?.[1];
    expect(traceId).toBeDefined();
    await waitUntil(() => receiver.spans.some((s) => s.traceId === traceId && s.name === 'drover.run echo'), 'the echo run span', 15_000);
    const submit = receiver.spans.find((s) => s.traceId === traceId && s.name === 'drover.submit echo');
    expect(submit?.parentSpanId ?? '').toBe('');
  }, 30_000);
});
