import { parseArgs } from 'node:util';
import { HPA_DEFAULTS, type HpaOptions, type ScalingRules } from './hpa-algorithm.js';

export interface AutoscaleOptions {
  queue: string;
  hpa: HpaOptions;
  syncPeriodMs: number;
  failureThreshold: number;
  fallbackReplicas: number | undefined;
  source: { kind: 'prometheus'; url: string; query: string | undefined } | { kind: 'metrics'; url: string };
  executor:
    | { kind: 'compose'; service: string; file: string | undefined; project: string | undefined }
    | { kind: 'swarm'; service: string }
    | { kind: 'process'; command: string };
}

export const AUTOSCALE_USAGE = `usage: drover autoscale --queue Q (--prometheus URL [--query Q] | --metrics-url URL) --executor compose|swarm|process [options]

Scales workers on a queue's backlog with the Kubernetes HPA's algorithm.

metric (one of):
  --prometheus URL            Prometheus base URL; the query defaults to
                              max by (queue) (drover_queue_backlog{queue="Q"})
  --query PROMQL              another query returning the queue's backlog
  --metrics-url URL           an orchestrator's /metrics, read directly (no Prometheus)
executor:
  --executor compose          docker compose up -d --no-recreate --scale SERVICE=N SERVICE
      --service NAME [--compose-file FILE] [--project NAME]
  --executor swarm            docker service scale SERVICE=N  (--service NAME)
  --executor process          local worker processes  [--worker-command CMD]
                              (default: node --conditions=@drover/source --import tsx packages/worker/src/main.ts)
algorithm (HPA field in brackets, default after =):
  --min N                     [minReplicas] = 1 (0 allows scale to zero)
  --max N                     [maxReplicas] = 10
  --target N                  [averageValue] backlog per worker = 5 (set it to the workers' concurrency)
  --tolerance F               = 0.1
  --sync-period S             seconds between decisions = 15
  --scale-up-window S         [behavior.scaleUp.stabilizationWindowSeconds] = 0
  --scale-down-window S       [behavior.scaleDown.stabilizationWindowSeconds] = 300
  --scale-up-pods N           [scaleUp Pods policy] = 4 per period
  --scale-up-percent P        [scaleUp Percent policy] = 100 per period
  --scale-up-period S         [periodSeconds of both scale-up policies] = 15
  --scale-down-percent P      [scaleDown Percent policy] = 100 per period
  --scale-down-period S       [periodSeconds of the scale-down policy] = 15
  --scale-up-select Max|Min|Disabled, --scale-down-select Max|Min|Disabled  [selectPolicy] = Max
failures:
  --failure-threshold N       failed metric reads in a row before the fallback = 3
  --fallback-replicas N       replicas to run then (KEDA's fallback); default: keep the current count
`;

/** Parses `drover autoscale` flags; throws an Error naming the flag for a bad value. */
export function parseAutoscaleArgs(argv: string[]): AutoscaleOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      queue: { type: 'string' },
      prometheus: { type: 'string' },
      query: { type: 'string' },
      'metrics-url': { type: 'string' },
      executor: { type: 'string' },
      service: { type: 'string' },
      'compose-file': { type: 'string' },
      project: { type: 'string' },
      'worker-command': { type: 'string' },
      min: { type: 'string' },
      max: { type: 'string' },
      target: { type: 'string' },
      tolerance: { type: 'string' },
      'sync-period': { type: 'string' },
      'scale-up-window': { type: 'string' },
      'scale-down-window': { type: 'string' },
      'scale-up-pods': { type: 'string' },
      'scale-up-percent': { type: 'string' },
      'scale-up-period': { type: 'string' },
      'scale-down-percent': { type: 'string' },
      'scale-down-period': { type: 'string' },
      'scale-up-select': { type: 'string' },
      'scale-down-select': { type: 'string' },
      'failure-threshold': { type: 'string' },
      'fallback-replicas': { type: 'string' },
    },
  });
  const num = (flag: keyof typeof values, fallback: number, opts: { min?: number; integer?: boolean } = {}): number => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const ok = /^[0-9]+(\.[0-9]+)?$/.test(String(raw)) && Number.isFinite(n) && n >= (opts.min ?? 0) && (!opts.integer || Number.isInteger(n));
    if (!ok) throw new Error(`--${flag} must be ${opts.integer === false ? 'a number' : 'a whole number'} >= ${opts.min ?? 0}; got ${JSON.stringify(raw)}`);
    return n;
  };
  const select = (flag: 'scale-up-select' | 'scale-down-select'): ScalingRules['selectPolicy'] => {
    const v = values[flag] ?? 'Max';
    if (v !== 'Max' && v !== 'Min' && v !== 'Disabled') throw new Error(`--${flag} must be Max, Min or Disabled; got ${JSON.stringify(v)}`);
    return v;
  };
  const queue = values.queue;
  if (!queue || !/^[a-z][a-z0-9_-]{0,63}$/.test(queue)) throw new Error('--queue is required: the Drover queue whose backlog drives the workers (e.g. general)');
  const min = num('min', 1, { integer: true });
  const max = num('max', 10, { integer: true, min: 1 });
  if (min > max) throw new Error(`--min (${min}) must not exceed --max (${max})`);
  const upPeriod = num('scale-up-period', 15, { integer: true, min: 1 });
  const downPeriod = num('scale-down-period', 15, { integer: true, min: 1 });
  const hpa: HpaOptions = {
    minReplicas: min,
    maxReplicas: max,
    targetPerReplica: num('target', 5, { integer: false, min: 0.001 }),
    tolerance: num('tolerance', HPA_DEFAULTS.tolerance, { integer: false }),
    scaleUp: {
      stabilizationWindowSeconds: num('scale-up-window', HPA_DEFAULTS.scaleUp.stabilizationWindowSeconds, { integer: true }),
      selectPolicy: select('scale-up-select'),
      policies: [
        { type: 'Percent', value: num('scale-up-percent', 100, { integer: true, min: 1 }), periodSeconds: upPeriod },
        { type: 'Pods', value: num('scale-up-pods', 4, { integer: true, min: 1 }), periodSeconds: upPeriod },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: num('scale-down-window', HPA_DEFAULTS.scaleDown.stabilizationWindowSeconds, { integer: true }),
      selectPolicy: select('scale-down-select'),
      policies: [{ type: 'Percent', value: num('scale-down-percent', 100, { integer: true, min: 1 }), periodSeconds: downPeriod }],
    },
  };
  let source: AutoscaleOptions['source'];
  if (values.prometheus && values['metrics-url']) throw new Error('give one of --prometheus and --metrics-url, not both');
  if (values.prometheus) source = { kind: 'prometheus', url: httpUrl('prometheus', values.prometheus), query: values.query };
  else if (values['metrics-url']) source = { kind: 'metrics', url: httpUrl('metrics-url', values['metrics-url']) };
  else throw new Error('a metric is required: --prometheus URL (with the scaling query) or --metrics-url URL (an orchestrator /metrics)');
  if (values.query && !values.prometheus) throw new Error('--query goes with --prometheus');
  let executor: AutoscaleOptions['executor'];
  const service = () => {
    if (!values.service) throw new Error(`--service is required with --executor ${values.executor}`);
    return values.service;
  };
  switch (values.executor) {
    case 'compose':
      executor = { kind: 'compose', service: service(), file: values['compose-file'], project: values.project };
      break;
    case 'swarm':
      executor = { kind: 'swarm', service: service() };
      break;
    case 'process':
      executor = { kind: 'process', command: values['worker-command'] ?? 'node --conditions=@drover/source --import tsx packages/worker/src/main.ts' };
      break;
    default:
      throw new Error(`--executor must be compose, swarm or process; got ${JSON.stringify(values.executor ?? '')}`);
  }
  const fallback = values['fallback-replicas'];
  return {
    queue,
    hpa,
    syncPeriodMs: num('sync-period', 15, { integer: false, min: 0.1 }) * 1000,
    failureThreshold: num('failure-threshold', 3, { integer: true }),
    fallbackReplicas: fallback === undefined ? undefined : num('fallback-replicas', 0, { integer: true }),
    source,
    executor,
  };
}

function httpUrl(flag: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`--${flag} must be an http(s) URL; got ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--${flag} must be an http(s) URL; got ${JSON.stringify(raw)}`);
  return raw;
}
