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

/** `debate`: debaters argue a topic for some rounds, each seeing the last round; a judge decides. */
export const DebateInput = Type.Object(
  {
    topic: Type.String({ minLength: 1, maxLength: 500, description: 'What the debaters argue about' }),
    debaters: Type.Optional(Type.Integer({ minimum: 2, maximum: 8, default: 3, description: 'Debater agents per round (default 3)' })),
    rounds: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, default: 2, description: 'Rounds; each sees the previous round (default 2)' })),
  },
  { additionalProperties: false },
);
export type DebateInput = Static<typeof DebateInput>;

/** One debater's turn, spawned by `debate`. */
export const DebaterInput = Type.Object(
  {
    topic: Type.String({ maxLength: 500 }),
    debater: Type.Integer({ minimum: 1, maximum: 8 }),
    round: Type.Integer({ minimum: 1, maximum: 5 }),
    previous: Type.Array(Type.Object({ debater: Type.Integer(), text: Type.String() }), { maxItems: 8 }),
  },
  { additionalProperties: false },
);
export type DebaterInput = Static<typeof DebaterInput>;

/** The judge of a debate, spawned by `debate` with the whole transcript. */
export const JudgeInput = Type.Object(
  {
    topic: Type.String({ maxLength: 500 }),
    transcript: Type.Array(Type.Object({ round: Type.Integer(), answers: Type.Array(Type.Object({ debater: Type.Integer(), text: Type.String() })) }), { maxItems: 5 }),
  },
  { additionalProperties: false },
);
export type JudgeInput = Static<typeof JudgeInput>;

/**
 * Task types every Drover deployment knows, so the orchestrator validates their input even
 * before a worker has registered. Workers implement them (packages/worker/src/tasks).
 */
export const BUILTIN_TASK_TYPES: readonly TaskTypeInfo[] = [
  { name: 'echo', queue: 'general', inputSchema: EchoInput as Record<string, unknown>, description: 'Returns its input.' },
  { name: 'sleep', queue: 'general', inputSchema: SleepInput as Record<string, unknown>, description: 'Waits input.ms milliseconds.' },
  { name: 'scrape', queue: 'scrape', inputSchema: ScrapeInput as Record<string, unknown>, description: 'Fetches a web page and extracts its content.' },
  {
    name: 'debate',
    queue: 'debate',
    inputSchema: DebateInput as Record<string, unknown>,
    description: 'Spawns debater agents for some rounds and a judge; returns the verdict and the transcript.',
  },
  { name: 'debater', queue: 'debate', inputSchema: DebaterInput as Record<string, unknown>, description: "One debater's turn (spawned by debate)." },
  { name: 'judge', queue: 'debate', inputSchema: JudgeInput as Record<string, unknown>, description: 'Judges a debate transcript (spawned by debate).' },
];
