import { type Static, Type } from '@sinclair/typebox';
import type { TaskTypeInfo } from './backend.js';
import { ScrapeInput } from './scrape-input.js';

/** `echo` returns its input: a smoke test and a benchmark no-op. */
export const EchoInput = Type.Unknown({ description: 'Any JSON value; returned unchanged' });

/** `sleep` waits `ms` (honouring cancel and timeout) and returns `{ slept }`. */
export const SleepInput = Type.Object(
  { ms: Type.Integer({ minimum: 0, maximum: 3_600_000 }), fail: Type.Optional(Type.Boolean({ description: 'Throw after sleeping (to exercise retries)' })) },
  { additionalProperties: false },
);
export type SleepInput = Static<typeof SleepInput>;

/**
 * Task types every Drover deployment knows, so the orchestrator validates their input even
 * before a worker has registered. Workers implement them (packages/worker/src/tasks).
 */
export const BUILTIN_TASK_TYPES: readonly TaskTypeInfo[] = [
  { name: 'echo', queue: 'general', inputSchema: EchoInput as Record<string, unknown>, description: 'Returns its input.' },
  { name: 'sleep', queue: 'general', inputSchema: SleepInput as Record<string, unknown>, description: 'Waits input.ms milliseconds.' },
  { name: 'scrape', queue: 'scrape', inputSchema: ScrapeInput as Record<string, unknown>, description: 'Fetches a web page and extracts its content.' },
];
