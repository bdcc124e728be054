import { describe, expect, it } from 'vitest';
import { newTaskId } from '../src/task-id.js';
import { TASK_ID_RE } from '../src/task.js';

describe('newTaskId', () => {
  it('is <queue>.<22 base64url characters>, a valid task id, and unique across pool refills', () => {
    const ids = Array.from({ length: 10_000 }, () => newTaskId('general'));
    for (const id of ids) {
      expect(id).toMatch(/^general\.[A-Za-z0-9_-]{22}$/);
      expect(TASK_ID_RE.test(id)).toBe(true);
    }
    // 10,000 ids span about forty refills of the 256-id pool: a refill that repeated or skipped
    // its fill would show as duplicates.
    expect(new Set(ids).size).toBe(ids.length);
    // Every position varies (a constant character would mean bytes not drawn from the pool); the
    // last character carries the 128th and 127th bits only, so it takes 4 values.
    const at = (i: number) => new Set(ids.map((id) => id[i])).size;
    for (let i = 'general.'.length; i < 'general.'.length + 21; i++) expect(at(i)).toBeGreaterThan(48);
    expect(at('general.'.length + 21)).toBe(4);
  });
});
