import { parseArgs } from 'node:util';
import { BackupError, backup } from '../backup/snapshot.js';
import { connectRedis, redisTarget } from '../backup/redis-target.js';

export const BACKUP_USAGE = `usage: drover backup --out FILE [--redis URL] [--prefix P] [--no-pause] [--pause-max-ms N]

Writes every key of the task store (queues, task records, indexes) under the prefix to FILE, as
one point-in-time snapshot: writes from every client are paused (CLIENT PAUSE WRITE) while the
keys are copied; reads go on. FILE is written whole or not at all.

  --out FILE          where to write the snapshot (must not exist)
  --redis URL         default: DROVER_REDIS_URL
  --prefix P          default: DROVER_PREFIX, else drover
  --pause-max-ms N    longest write pause; a copy that needs longer fails = 30000
  --no-pause          copy without pausing writers (not one instant; for servers that refuse CLIENT PAUSE)
`;

/** `drover backup`: exit 0 written, 2 bad arguments or refused, 1 Redis failed. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: { out?: string; redis?: string; prefix?: string; 'no-pause'?: boolean; 'pause-max-ms'?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: { out: { type: 'string' }, redis: { type: 'string' }, prefix: { type: 'string' }, 'no-pause': { type: 'boolean' }, 'pause-max-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    return fail(err, 2);
  }
  if (values.help) {
    process.stdout.write(BACKUP_USAGE);
    return 0;
  }
  const pauseMax = values['pause-max-ms'] ?? '30000';
  if (!/^[0-9]{1,9}$/.test(pauseMax) || Number(pauseMax) < 100) return fail(new Error(`--pause-max-ms must be a whole number of milliseconds >= 100; got ${JSON.stringify(pauseMax)}`), 2);
  if (!values.out) return fail(new Error('--out FILE is required'), 2);
  let target: ReturnType<typeof redisTarget>;
  try {
    target = redisTarget(values, env);
  } catch (err) {
    return fail(err, 2);
  }
  const redis = await connectRedis(target.url).catch((err: unknown) => err as Error);
  if (redis instanceof Error) return fail(redis, 1);
  try {
    const r = await backup(redis, values.out, { prefix: target.prefix, pause: !values['no-pause'], pauseMaxMs: Number(pauseMax) });
    const how = r.consistent ? `one instant; writes paused ${r.pausedMs} ms` : 'writes were not paused: not one instant';
    process.stdout.write(`drover backup: ${r.keys} keys under "${target.prefix}:" written to ${values.out} (${r.bytes} bytes; ${how})\n`);
    return 0;
  } catch (err) {
    return fail(err, err instanceof BackupError ? 2 : 1);
  } finally {
    redis.disconnect();
  }
}

function fail(err: unknown, code: number): number {
  process.stderr.write(`drover backup: ${err instanceof Error ? err.message : String(err)}\n`);
  return code;
}
