import { type DroverConfig, DroverError, createBackend, createLogger, loadConfig } from '@drover/shared';
import { buildApp } from './app.js';

/**
 * `npm run start:orchestrator`: the HTTP API as its own process. On SIGTERM/SIGINT it first
 * reports not-ready (so load balancers stop sending), waits briefly for that to take effect,
 * then finishes in-flight requests, closes the backend and exits 0.
 */
const DRAIN_PAUSE_MS = 2000;

function config(): DroverConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof DroverError && err.code === 'DROVER_ERR_CONFIG') {
      process.stderr.write(`drover orchestrator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const cfg = config();
  const logger = createLogger({ service: 'orchestrator', instance: cfg.instance, region: cfg.region, level: cfg.logLevel });
  if (cfg.backend === 'memory') {
    // Its tasks would sit in this process's memory where no worker process can reach them.
    process.stderr.write('drover orchestrator: a standalone orchestrator needs a shared backend: set DROVER_REDIS_URL (or DROVER_BACKEND=rabbitmq). For one process, use `npm start`.\n');
    process.exit(2);
  }
  const backend = await createBackend(cfg);
  const app = await buildApp({ config: cfg, backend, logger });
  const url = await app.listen({ host: cfg.http.host, port: cfg.http.port });
  logger.info({ url, backend: cfg.backend, auth: cfg.http.auth }, `orchestrator listening on ${url}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: /readyz answers 503 from now on');
    app.drover.draining = true;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_PAUSE_MS));
    try {
      await app.close();
      await backend.close();
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
