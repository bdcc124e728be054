import type { Backend, DroverConfig, Logger, Registry } from '@drover/shared';

export interface BuildAppOptions {
  config: DroverConfig;
  backend: Backend;
  /** Default: a pino logger for service "orchestrator" at config.logLevel, on stdout. */
  logger?: Logger;
  /** Default: a registry of this app's own (with Node process metrics). Embedded mode shares one with the worker. */
  registry?: Registry;
}
