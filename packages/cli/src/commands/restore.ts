import { parseArgs } from 'node:util';
import { BackupError, restore } from '../backup/snapshot.js';
import { connectRedis, redisTarget } from '../backup/redis-target.js';

export const RESTORE_USAGE = `usage: drover restore --in FILE [--redis URL] [--prefix P] [--force]

Loads a snapshot written by \`drover backup\` into an empty Redis. The whole file is checked
(format, every line, checksum) before anything is written. Stop every orchestrator and worker
of the prefix first; start them once this command has finished.

  --in FILE     the snapshot
  --redis URL   default: DROVER_REDIS_URL
  --prefix P    default: DROVER_PREFIX, else drover; must be the snapshot's prefix
  --force       overwrite keys under the prefix instead of refusing a non-empty target
`;

/** `drover restore`: exit 0 restored, 2 bad arguments or refused (nothing written), 1 Redis failed. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: { in?: string; redis?: string; prefix?: string; force?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: { in: { type: 'string' }, redis: { type: 'string' }, prefix: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    return fail(err, 2);
  }
  if (values.help) {
    process.stdout.write(RESTORE_USAGE);
    return 0;
  }
  if (!values.in) return fail(new Error('--in FILE is required'), 2);
  let target: ReturnType<typeof redisTarget>;
  try {
    target = redisTarget(values, env);
  } catch (err) {
    return fail(err, 2);
  }
  const redis = await connectRedis(target.url).catch((err: unknown) => err as Error);
  if (redis instanceof Error) return fail(redis, 1);
  try {
    const r = await restore(redis, values.in, { prefix: target.prefix, force: values.force === true });
    process.stdout.write(`drover restore: ${r.keys} keys under "${target.prefix}:" restored from ${values.in} (taken ${r.header.createdAt}${r.header.consistent ? '' : ', not one instant'})\n`);
    return 0;
  } catch (err) {
    return fail(err, err instanceof BackupError ? 2 : 1);
  } finally {
    redis.disconnect();
  }
}

function fail(err: unknown, code: number): number {
  process.stderr.write(`drover restore: ${err instanceof Error ? err.message : String(err)}\n`);
  return code;
}
