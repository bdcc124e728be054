import type { Redis } from 'ioredis';
import type { ListPage, ListQuery } from '../../backend.js';
import { decodeCursor, encodeCursor } from '../../cursor.js';
import type { TaskRecord } from '../../task.js';
import { JOB_FIELDS, type JobState, hashFromFields, recordFromHash } from './job-record.js';

interface JobRef {
  id: string;
  queue: string;
  state: JobState;
}

/** The BullMQ sets a list() with a given status filter must look in. */
const SETS: Record<string, Array<[suffix: string, kind: 'list' | 'zset', state: JobState]>> = {
  queued: [
    ['wait', 'list', 'waiting'],
    ['paused', 'list', 'waiting'],
    ['prioritized', 'zset', 'prioritized'],
  ],
  delayed: [['delayed', 'zset', 'delayed']],
  running: [['active', 'list', 'active']],
  succeeded: [['completed', 'zset', 'completed']],
  failed: [['failed', 'zset', 'failed']],
  canceled: [['failed', 'zset', 'failed']],
};
const ALL_SETS = Object.entries(SETS)
  .filter(([status]) => status !== 'canceled')
  .flatMap(([, sets]) => sets);

/** Reads task records straight from BullMQ's job hashes and state sets. */
export class JobReader {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly childrenKey: (parentId: string) => string,
  ) {}

  /** One atomic MULTI: the hash, which set holds the job, and its children. */
  async get(id: string, queue: string): Promise<TaskRecord | null> {
    const k = `${this.prefix}:${queue}:`;
    const res = await this.redis
      .multi()
      .hmget(`${k}${id}`, ...JOB_FIELDS)
      .zscore(`${k}completed`, id)
      .zscore(`${k}failed`, id)
      .zscore(`${k}delayed`, id)
      .zscore(`${k}prioritized`, id)
      .lpos(`${k}active`, id)
      .lrange(this.childrenKey(id), 0, -1)
      .exec();
    if (!res) return null;
    const hash = hashFromFields(res[0]?.[1] as Array<string | null>);
    if (!hash) return null;
    const state: JobState =
      res[1]?.[1] != null ? 'completed' : res[2]?.[1] != null ? 'failed' : res[3]?.[1] != null ? 'delayed' : res[4]?.[1] != null ? 'prioritized' : res[5]?.[1] != null ? 'active' : 'waiting';
    return recordFromHash(id, queue, hash, state, res[6]?.[1] as string[]);
  }

  /** Oldest first by creation time (ties by id); the cursor is the last (time, id) returned. */
  async list(query: ListQuery, queues: string[]): Promise<ListPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['t', 'i']);
    const afterT = after ? Number(after.t) : -1;
    const afterId = after?.i ?? '';
    const sets = query.status ? (SETS[query.status] ?? []) : ALL_SETS;

    // One MULTI so a job moving between sets meanwhile is seen exactly once.
    const tx = this.redis.multi();
    const plan: Array<[queue: string, state: JobState]> = [];
    for (const queue of query.queue ? [query.queue] : queues) {
      for (const [suffix, kind, state] of sets) {
        const key = `${this.prefix}:${queue}:${suffix}`;
        if (kind === 'list') tx.lrange(key, 0, -1);
        else tx.zrange(key, 0, -1);
        plan.push([queue, state]);
      }
    }
    const res = (await tx.exec()) ?? [];
    const seen = new Set<string>();
    const refs: JobRef[] = [];
    res.forEach(([, ids], i) => {
      const [queue, state] = plan[i]!;
      for (const id of ids as string[]) {
        if (seen.has(id)) continue;
        seen.add(id);
        refs.push({ id, queue, state });
      }
    });
    if (refs.length === 0) return { items: [], nextCursor: null };

    const stamps = await this.redis.pipeline(refs.map((r) => ['hget', `${this.prefix}:${r.queue}:${r.id}`, 'timestamp'])).exec();
    const ordered = refs
      .map((r, i) => ({ ...r, t: Number(stamps?.[i]?.[1] ?? Number.NaN) }))
      .filter((r) => !Number.isNaN(r.t) && (r.t > afterT || (r.t === afterT && r.id > afterId)))
      .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    const items: TaskRecord[] = [];
    let last: { t: number; id: string } | undefined;
    let pos = 0;
    const chunk = Math.max(query.limit, 100);
    while (items.length < query.limit && pos < ordered.length) {
      const slice = ordered.slice(pos, pos + chunk);
      const records = await this.many(slice);
      for (let i = 0; i < slice.length && items.length < query.limit; i++) {
        pos++;
        const r = records[i];
        if (!r) continue;
        if (query.tenant && r.tenant !== query.tenant) continue;
        if (query.type && r.type !== query.type) continue;
        if (query.status && r.status !== query.status) continue;
        items.push(r);
        last = { t: slice[i]!.t, id: slice[i]!.id };
      }
    }
    const more = items.length === query.limit && pos < ordered.length;
    return { items, nextCursor: more && last ? encodeCursor({ t: String(last.t), i: last.id }) : null };
  }

  private async many(refs: JobRef[]): Promise<Array<TaskRecord | null>> {
    const p = this.redis.pipeline();
    for (const r of refs) {
      p.hmget(`${this.prefix}:${r.queue}:${r.id}`, ...JOB_FIELDS);
      p.lrange(this.childrenKey(r.id), 0, -1);
    }
    const res = (await p.exec()) ?? [];
    return refs.map((r, i) => {
      const hash = hashFromFields(res[2 * i]?.[1] as Array<string | null>);
      return hash ? recordFromHash(r.id, r.queue, hash, r.state, res[2 * i + 1]?.[1] as string[]) : null;
    });
  }
}
