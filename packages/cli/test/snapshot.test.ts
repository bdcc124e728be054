import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, restore, verify } from '../src/backup/snapshot.js';

describe('the backup snapshot', () => {
  let source: RedisServer;
  let target: RedisServer;
  const dir = mkdtempSync(join(tmpdir(), 'drover-snapshot-'));

  beforeAll(async () => {
    [source, target] = await Promise.all([RedisServer.start(), RedisServer.start()]);
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one instant while writers keep writing, and writers resume afterwards', async () => {
    const seed = new Redis(source.url);
    const writer = new Redis(source.url);
    const reader = new Redis(target.url);
    try {
      // 2,000 keys so the copy spans many SCAN batches, and a writer that bumps two counters in
      // one transaction: a snapshot that is one instant holds equal counters.
      const p = seed.pipeline();
      for (let i = 0; i < 2000; i++) p.set(`snap:k:${i}`, 'x'.repeat(200));
      p.set('snap:ttl', 'v', 'PX', 600_000);
      p.set('other:not-mine', '1');
      await p.exec();
      let stop = false;
      let written = 0;
      const writing = (async () => {
        while (!stop) {
          await writer.multi().incr('snap:a').incr('snap:z').exec();
          written++;
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      const file = join(dir, 'a.ndjson');
      const r = await backup(seed, file, { prefix: 'snap', pause: true, pauseMaxMs: 10_000, batch: 100 });
      const after = written;
      await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await writing;
      expect(written).toBeGreaterThan(after); // the pause was lifted
      expect(r.keys).toBe(2003);
      expect((await verify(file)).keys).toBe(2003);
      expect(readFileSync(file, 'utf8')).not.toContain('other:not-mine');

      await restore(reader, file, { prefix: 'snap', force: false, batch: 100 });
      const [a, z] = await reader.mget('snap:a', 'snap:z');
      expect(Number(a)).toBeGreaterThan(0);
      expect(a).toBe(z);
      expect(await reader.get('snap:k:1999')).toBe('x'.repeat(200));
      const ttl = await reader.pttl('snap:ttl');
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
      expect(await reader.pttl('snap:k:0')).toBe(-1);
      expect(await reader.exists('other:not-mine')).toBe(0);
    } finally {
      seed.disconnect();
      writer.disconnect();
      reader.disconnect();
    }
  });

  it('fails rather than hold writers back longer than the pause limit, and leaves no file', async () => {
    const redis = new Redis(source.url);
    try {
      const file = join(dir, 'slow.ndjson');
      await expect(backup(redis, file, { prefix: 'snap', pause: true, pauseMaxMs: 1, batch: 10 })).rejects.toThrow(/longer than --pause-max-ms/);
      await expect(verify(file)).rejects.toThrow(/cannot read/);
      expect(await redis.set('snap:after', '1')).toBe('OK'); // writes are not paused any more
    } finally {
      redis.disconnect();
    }
  });
});
