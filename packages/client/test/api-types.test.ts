import type { Static } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
// Test-only reach into the orchestrator: its request and answer schemas are not exported yet, and
// this file is where the client's mirrored types are held to them (checked by tsc -p tsconfig.json).
import type {
  DeadLetterBulkBody,
  DeadLetterBulkResult as DeadLetterBulkResultSchema,
  DeadLetterQuery,
  ListTasksQuery as ListTasksQuerySchema,
  QueueInfo as QueueInfoSchema,
  SubmitItem,
  TaskTypeSchema,
  WorkerInfoSchema,
} from '../../orchestrator/src/api-schemas.js';
import type {
  DeadLetterBulk,
  DeadLetterBulkResult,
  ListDeadLettersQuery,
  ListTasksQuery,
  QueueInfo,
  SubmitTask,
  TaskTypeView,
  WorkerView,
} from '../src/index.js';

/** Compiles only when A and B are assignable both ways. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(): T => true as T;

describe('client types mirror the API schemas', () => {
  it('typechecks', () => {
    same<Same<SubmitTask, SubmitItem>>();
    same<Same<ListTasksQuery, ListTasksQuerySchema>>();
    same<Same<QueueInfo, QueueInfoSchema>>();
    same<Same<WorkerView, Static<typeof WorkerInfoSchema>>>();
    same<Same<TaskTypeView, Static<typeof TaskTypeSchema>>>();
    same<Same<ListDeadLettersQuery, Static<typeof DeadLetterQuery>>>();
    same<Same<DeadLetterBulk, Static<typeof DeadLetterBulkBody>>>();
    same<Same<Omit<DeadLetterBulkResult, 'tasks'>, Omit<Static<typeof DeadLetterBulkResultSchema>, 'tasks'>>>();
    expect(true).toBe(true);
  });
});
