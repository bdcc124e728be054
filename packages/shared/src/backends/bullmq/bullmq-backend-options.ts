export interface BullmqBackendOptions {
  redisUrl: string;
  /** BullMQ key prefix: every key this backend writes starts with `<prefix>:`. */
  prefix: string;
  /** Queues known up front; any other valid queue name is accepted when first used. */
  queues: string[];
  /** Finished tasks are kept this long (BullMQ removeOnComplete / removeOnFail `{ age }`). */
  resultTtlSeconds: number;
  /** How long a worker's lock on a running job lasts without renewal. Default 30 000. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired (crashed workers). Default 15 000. */
  stalledIntervalMs?: number;
  /**
   * Crashes of its worker (lock expired mid-run) that quarantine a job as a poison task
   * (DROVER_ERR_TASK_QUARANTINED): BullMQ's maxStalledCount is one less. Default 3.
   */
  poisonCrashes?: number;
  /** How long the first call waits for the initial connection before failing. Default 2 000. */
  connectTimeoutMs?: number;
  /** Errors from background connections (reconnects, stalled checks). Default: ignored. */
  onError?: (err: unknown) => void;
}
