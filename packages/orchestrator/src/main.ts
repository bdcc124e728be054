import { createGraphStore } from '@drover/graph';
import { createBackend, createLogger, loadConfig, loadConfigOrExit, startTracing } from '@drover/shared';
import { buildApp, buildOpsApp } from './app.js';

/**
 * `npm run start:orchestrator`: the HTTP API as its own process. On SIGTERM/SIGINT it first
 * reports not-ready (so load balancers stop sending), waits DROVER_DRAIN_DELAY_MS for that to
 * take effect, then finishes in-flight requests, closes the backend and exits 0.
 */

async function main(): Promise<void> {
  const cfg = loadConfigOrExit('orchestrator', process.env, { sharedBackend: true });
  const logger = createLogger({ service: 'orchestrator', instance: cfg.instance, region: cfg.region, level: cfg.logLevel });
  const backend = await createBackend(cfg);
  const tracing = await startTracing(cfg.telemetry, 'drover-orchestrator');
  // The graph lives in Neo4j when one is configured; an in-process graph would be empty here (the
  // workers record it), so without Neo4j GET /v1/tasks/:id/graph shows what task records hold.
  const graph = cfg.memory.neo4jUrl ? await createGraphStore({ ...cfg.memory, logger }) : undefined;
  const app = await buildApp({ config: cfg, backend, logger, ...(tracing ? { tracer: tracing.tracer } : {}), ...(graph ? { graph } : {}) });
  const url = await app.listen({ host: cfg.http.host, port: cfg.http.port });
  const ops = cfg.http.metricsPort === undefined ? undefined : await buildOpsApp(app);
  if (ops) logger.info({ url: await ops.listen({ host: cfg.http.host, port: cfg.http.metricsPort! }) }, 'metrics and probes on their own port (DROVER_METRICS_PORT)');
  logger.info({ url, backend: cfg.backend, auth: cfg.http.auth }, `orchestrator listening on ${url}`);

  // Key rotation without a restart: on SIGHUP the keys (DROVER_API_KEYS, or the file
  // DROVER_API_KEYS_FILE names, as a mounted secret) are read again. A bad new set is refused
  // whole and the old keys stay.
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig(process.env);
      app.drover.auth.replaceKeys(next.http.apiKeys, next.http.adminTenants);
      logger.info({ keys: next.http.apiKeys.length }, 'API keys reloaded (SIGHUP)');
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'API keys not reloaded: the new configuration is invalid; the old keys stay');
    }
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainDelayMs: cfg.http.drainDelayMs }, 'draining: /readyz answers 503 from now on');
    app.drover.draining = true;
    await new Promise((resolve) => setTimeout(resolve, cfg.http.drainDelayMs));
    try {
      await ops?.close();
      await app.close();
      await backend.close();
      await graph?.close();
      await tracing?.shutdown();
    } catch (err) {
      logger.error({ err }, 'error while shutting down');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`drover orchestrator failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
