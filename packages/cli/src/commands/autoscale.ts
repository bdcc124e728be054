import { ComposeExecutor, type Executor, SwarmExecutor } from '../autoscale/executor.js';
import { AUTOSCALE_USAGE, type AutoscaleOptions, parseAutoscaleArgs } from '../autoscale/autoscale-options.js';
import { Autoscaler } from '../autoscale/autoscaler.js';
import { MetricsTextSource, type MetricSource, PrometheusSource } from '../autoscale/metric-source.js';
import { ProcessExecutor } from '../autoscale/process-executor.js';

/** `drover autoscale`: runs until SIGTERM/SIGINT, logging one JSON line per decision. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(AUTOSCALE_USAGE);
    return 0;
  }
  let options: AutoscaleOptions;
  try {
    options = parseAutoscaleArgs(argv);
  } catch (err) {
    process.stderr.write(`drover autoscale: ${err instanceof Error ? err.message : String(err)}\n(drover autoscale --help lists the options)\n`);
    return 2;
  }
  const autoscaler = new Autoscaler({
    hpa: options.hpa,
    source: sourceOf(options),
    executor: executorOf(options, env),
    syncPeriodMs: options.syncPeriodMs,
    failureThreshold: options.failureThreshold,
    fallbackReplicas: options.fallbackReplicas,
    log: (e) => process.stdout.write(`${JSON.stringify({ time: new Date(e.at).toISOString(), queue: options.queue, ...e, at: undefined })}\n`),
  });
  autoscaler.start();
  const stop = async () => {
    await autoscaler.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  return -1;
}

export function sourceOf(o: AutoscaleOptions): MetricSource {
  if (o.source.kind === 'metrics') return new MetricsTextSource(o.source.url, o.queue);
  return o.source.query ? new PrometheusSource(o.source.url, o.source.query) : PrometheusSource.forQueue(o.source.url, o.queue);
}

export function executorOf(o: AutoscaleOptions, env: NodeJS.ProcessEnv): Executor {
  const e = o.executor;
  if (e.kind === 'compose') return new ComposeExecutor(e.service, { file: e.file, project: e.project });
  if (e.kind === 'swarm') return new SwarmExecutor(e.service);
  // Workers take this queue unless the environment says otherwise.
  return new ProcessExecutor({ command: e.command, env: { DROVER_WORKER_QUEUES: o.queue, ...env } });
}
