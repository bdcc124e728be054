import type { Redis } from 'ioredis';
import type { ListPage, ListQuery } from '../../backend.js';
import { decodeCursor, encodeCursor } from '../../cursor.js';
import type { TaskRecord } from '../../task.js';
import { DroverError } from '../../errors.js';
import { JOB_FIELDS, type JobState, hashFromFields, recordFromHash } from './job-record.js';
import type { TaskIndex } from './task-index.js';

/** Candidates list() examines per call at most; past that it returns a short page and a cursor. */
const MAX_EXAMINED = 10_000;

/** Reads task records straight from BullMQ's job hashes and state sets. */
export class JobReader {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly childrenKey: (parentId: string) => string,
    private readonly suspendedKey: (queue: string) => string,
  ) {}

  async get(id: string, queue: string): Promise<TaskRecord | null> {
    const [record] = await this.snapshot([{ id, queue }]);
    return record ?? null;
  }

  /**
   * One atomic MULTI for all `refs`: each job's hash, which state set holds it, and its children.
   * Only the small sets are probed; a job in none of them is waiting (wait list or paused).
   */
  async snapshot(refs: Array<{ id: string; queue: string }>): Promise<Array<TaskRecord | null>> {
    if (refs.length === 0) return [];
    const tx = this.redis.multi();
    for (const { id, queue } of refs) {
      const k = `${this.prefix}:${queue}:`;
      tx.hmget(`${k}${id}`, ...JOB_FIELDS)
        .zscore(`${k}completed`, id)
        .zscore(`${k}failed`, id)
        .zscore(`${k}delayed`, id)
        .zscore(`${k}prioritized`, id)
        .lpos(`${k}active`, id)
        .lrange(this.childrenKey(id), 0, -1)
        .zscore(this.suspendedKey(queue), id);
    }
    const res = (await tx.exec()) ?? [];
    return refs.map(({ id, queue }, i) => {
      const r = (j: number) => res[8 * i + j]?.[1];
      const hash = hashFromFields(r(0) as Array<string | null>);
      if (!hash) return null;
      // Delayed by a suspension of its current run (see BullmqBackend.wake) is a waiting parent.
      const suspended = r(7) != null && r(7) === hash.ats;
      const state: JobState =
        r(1) != null ? 'completed' : r(2) != null ? 'failed' : r(3) != null ? (suspended ? 'suspended' : 'delayed') : r(4) != null ? 'prioritized' : r(5) != null ? 'active' : 'waiting';
      return recordFromHash(id, queue, hash, state, r(6) as string[]);
    });
  }

  /** Oldest first by creation time (ties by id), from the creation-time index. */
  async list(query: ListQuery, index: TaskIndex): Promise<ListPage> {
    let score = -1;
    let lastId = '';
    if (query.cursor !== undefined) {
      const c = decodeCursor(query.cursor, ['s', 'i']);
      score = Number(c.s);
      lastId = c.i ?? '';
      if (!Number.isFinite(score)) throw new DroverError('BAD_CURSOR', 'The cursor is not one this server issued; pass nextCursor from a previous page unchanged.');
    }
    const key = query.tenant ? index.tenantKey(query.tenant) : index.allKey();
    const chunk = Math.min(Math.max(query.limit * 2, 100), 1000);
    const items: TaskRecord[] = [];
    let examined = 0;
    for (;;) {
      const entries = await index.after(key, score, lastId, chunk);
      if (entries.length === 0) return { items, nextCursor: null };
      const wanted = query.queue ? entries.filter((e) => e.id.startsWith(`${query.queue}.`)) : entries;
      const records = await this.snapshot(wanted.map((e) => ({ id: e.id, queue: e.id.slice(0, e.id.indexOf('.')) })));
      const byId = new Map(wanted.map((e, i) => [e.id, records[i]]));
      const gone: string[] = [];
      for (const e of entries) {
        examined++;
        score = e.score;
        lastId = e.id;
        const r = byId.get(e.id);
        if (r === null) gone.push(e.id);
        if (!r) continue;
        if (query.type && r.type !== query.type) continue;
        if (query.status && r.status !== query.status) continue;
        items.push(r);
        if (items.length === query.limit) break;
      }
      await index.prune(key, gone);
      if (items.length === query.limit || examined >= MAX_EXAMINED) return { items, nextCursor: encodeCursor({ s: String(score), i: lastId }) };
    }
  }
}
