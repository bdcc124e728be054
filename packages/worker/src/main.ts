import { createGraphStore } from '@drover/graph';
import { createMemoryStore } from '@drover/memory';
import { Registry, createBackend, createLogger, loadConfigOrExit, startTracing } from '@drover/shared';
import { builtinTasks } from './builtin-tasks.js';
import { llmOptions } from './llm-client.js';
import { startHealthServer } from './health-server.js';
import { startScraper } from './scraper-service.js';
import { createWorker } from './worker.js';

/**
 * `npm run start:worker`: a worker process. SIGTERM/SIGINT drain it: no new tasks, running
 * ones get DROVER_SHUTDOWN_GRACE_MS to finish, the rest go back to the queue, then exit 0.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit('worker', process.env, { sharedBackend: true });
  const logger = createLogger({ service: 'worker', instance: config.instance, region: config.region, level: config.logLevel });
  const backend = await createBackend(config);
  const registry = new Registry();
  registry.setDefaultLabels({ region: config.region }); // as every log line carries it
  const scraping = startScraper(config, logger, registry);
  const tracing = await startTracing(config.telemetry, 'drover-worker');
  // Qdrant and Neo4j when configured (DROVER_QDRANT_URL, DROVER_NEO4J_URL), else in this process.
  const memory = createMemoryStore({ ...config.memory, logger });
  const graph = await createGraphStore({ ...config.memory, logger });
  const worker = createWorker({
    memory,
    graph,
    ...(tracing ? { tracer: tracing.tracer } : {}),
    backend,
    registry,
    tasks: builtinTasks({ scraper: scraping.scraper, llm: llmOptions(config) }),
    concurrency: config.worker.concurrency,
    queues: config.worker.queues,
    logger,
    heartbeatMs: config.worker.heartbeatMs,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    maxAgents: config.tasks.maxAgents,
    agentLeaseMs: config.tasks.leaseMs,
    ...(Object.keys(config.tasks.tenantMaxRunning).length > 0 ? { tenantMaxRunning: config.tasks.tenantMaxRunning } : {}),
    id: `${config.instance}-${process.pid}`,
  });
  const health = await startHealthServer({ worker, backend, registry: worker.registry, host: config.worker.host, port: config.worker.port });
  await worker.start();
  logger.info({ health: health.url }, 'worker ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await worker.drain(config.worker.shutdownGraceMs);
    await health.close();
    await scraping.close();
    await Promise.all([memory.close(), graph.close()]);
    await backend.close();
    await tracing?.shutdown();
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`drover worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
