import { createGraphStore } from '@drover/graph';
import { createMemoryStore } from '@drover/memory';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DASHBOARD_DIR, buildApp } from '@drover/orchestrator';
import { Registry, createBackend, createLogger, loadConfigOrExit, startTracing } from '@drover/shared';
import { builtinTasks, createWorker, llmOptions, startScraper } from '@drover/worker';
import { withEmbeddedKey } from './embedded-key.js';

/**
 * `npm start`: the orchestrator and a worker in one process. With no DROVER_REDIS_URL it runs
 * on the in-memory backend, so it needs no server at all (nothing survives a restart).
 */
async function main(): Promise<void> {
  const loaded = loadConfigOrExit('embedded', process.env);
  const { config, generatedKey } = withEmbeddedKey(loaded);
  const logger = createLogger({ service: 'drover', instance: config.instance, region: config.region, level: config.logLevel });
  const backend = await createBackend(config);
  const registry = new Registry();
  registry.setDefaultLabels({ region: config.region }); // as every log line carries it
  const scraping = startScraper(config, logger, registry);
  const tracing = await startTracing(config.telemetry, 'drover');
  const tracer = tracing ? { tracer: tracing.tracer } : {};
  // One memory and one graph for both halves: what the worker records, GET /v1/tasks/:id/graph reads.
  const memory = createMemoryStore({ ...config.memory, logger });
  const graph = await createGraphStore({ ...config.memory, logger });
  const worker = createWorker({
    ...tracer,
    memory,
    graph,
    backend,
    tasks: builtinTasks({ scraper: scraping.scraper, llm: llmOptions(config) }),
    concurrency: config.worker.concurrency,
    queues: config.worker.queues,
    logger,
    registry,
    heartbeatMs: config.worker.heartbeatMs,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    maxAgents: config.tasks.maxAgents,
    agentLeaseMs: config.tasks.leaseMs,
    ...(Object.keys(config.tasks.tenantMaxRunning).length > 0 ? { tenantMaxRunning: config.tasks.tenantMaxRunning } : {}),
  });
  const app = await buildApp({ config, backend, logger, registry, graph, ...tracer });
  await worker.start();
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  process.stdout.write(banner(address, config.backend, generatedKey, config.http.auth));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await worker.drain(config.worker.shutdownGraceMs);
    await scraping.close();
    await Promise.all([memory.close(), graph.close()]);
    await backend.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

function banner(url: string, backend: string, key: string | undefined, auth: boolean): string {
  const authHeader = auth ? ` -H 'authorization: Bearer ${key ?? '<your key>'}'` : '';
  return [
    '',
    `Drover is running (embedded: orchestrator + worker, ${backend} backend)`,
    `  URL:      ${url}`,
    `  API docs: ${url}/docs`,
    existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html')) ? `  Dashboard: ${url}/ui/  (log in with the API key)` : `  Dashboard: ${url}/ui/  (build it once with: npm run build)`,
    auth
      ? key
        ? `  API key:  ${key}   (tenant "local", made for this run; set DROVER_API_KEYS to choose your own)`
        : '  API key:  one of DROVER_API_KEYS'
      : '  Auth:     off (DROVER_AUTH=false)',
    '',
    'Submit an echo task and wait for its result:',
    `  curl -s -X POST '${url}/v1/tasks?wait=10000'${authHeader} -H 'content-type: application/json' -d '{"type":"echo","input":{"hello":"world"}}'`,
    '',
  ].join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`drover failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
