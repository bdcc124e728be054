import type { GraphStore } from '@drover/graph';
import type { Backend, DroverConfig, Logger, Registry, Tracer } from '@drover/shared';

export interface BuildAppOptions {
  config: DroverConfig;
  backend: Backend;
  /** Default: a pino logger for service "orchestrator" at config.logLevel, on stdout. */
  logger?: Logger;
  /** Default: a registry of this app's own (with Node process metrics). Embedded mode shares one with the worker. */
  registry?: Registry;
  /** Traces submissions (startTracing in @drover/shared); unset, nothing is traced. */
  tracer?: Tracer;
  /** The built dashboard served at /ui/. Default: packages/dashboard/dist beside this package. */
  dashboardDir?: string;
  /** The task graph GET /v1/tasks/:id/graph reads (createGraphStore in @drover/graph); without it the route shows what the task record holds. */
  graph?: GraphStore;
}
