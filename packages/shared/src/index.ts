export * from './task.js';
export * from './backend.js';
export * from './agent-permits.js';
export * from './schedule-store.js';
export * from './rate-window.js';
export * from './errors.js';
export * from './config.js';
export { loadConfigOrExit, type ConfigOrExitOptions } from './config-or-exit.js';
export type { ScraperConfig } from './config-scraper.js';
export { EnvReader, configError, redact } from './env-reader.js';
export * from './logger.js';
export * from './metrics.js';
export * from './attempt.js';
export * from './backoff.js';
export * from './spawn.js';
export * from './suspend-signal.js';
export * from './task-tree.js';
export * from './task-rules.js';
export { encodeCursor, decodeCursor } from './cursor.js';
export { IsoTimeMemo, isoTime, epochMs } from './iso-time.js';
export { submissionFingerprint } from './fingerprint.js';
export { storedJson, storing, unstorable } from './stored-json.js';
export { MemoryBackend, type MemoryBackendOptions } from './backends/memory-backend.js';
// The server-backed backends are subpath exports (@drover/shared/bullmq, @drover/shared/rabbitmq)
// and createBackend() loads them on demand, so the embedded mode never loads bullmq or amqplib.
export * from './builtin-task-types.js';
export * from './scrape-input.js';
export { createBackend } from './create-backend.js';
