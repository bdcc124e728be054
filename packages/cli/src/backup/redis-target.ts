import { RedisUrlError, createRedis, isSentinelUrl, redactRedisUrl, redisOptionsFromUrl } from '@drover/shared';
import type { Redis } from 'ioredis';

/** The Redis and prefix a backup or restore works on: flags first, then the service's own variables. */
export function redisTarget(flags: { redis?: string; prefix?: string }, env: NodeJS.ProcessEnv): { url: string; prefix: string } {
  const url = flags.redis ?? env['DROVER_REDIS_URL'];
  if (!url) throw new Error('no Redis: pass --redis URL or set DROVER_REDIS_URL');
  if (!/^rediss?:\/\//.test(url) && !isSentinelUrl(url)) throw new Error(`--redis must be a redis://, rediss:// or redis+sentinel:// URL; got ${JSON.stringify(redactRedisUrl(url))}`);
  if (isSentinelUrl(url)) {
    try {
      redisOptionsFromUrl(url);
    } catch (err) {
      if (!(err instanceof RedisUrlError)) throw err;
      throw new Error(`--redis ${JSON.stringify(redactRedisUrl(url))} is not valid: expected ${err.message}`);
    }
  }
  const prefix = flags.prefix ?? env['DROVER_PREFIX'] ?? 'drover';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) throw new Error(`--prefix must be letters, digits, - and _ (up to 32), as DROVER_PREFIX; got ${JSON.stringify(prefix)}`);
  return { url, prefix };
}

/** Connects once, failing fast (no endless reconnects) when Redis is not there. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined); // reported by the command that fails
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis: ${err instanceof Error ? err.message : String(err)}`);
  }
  return redis;
}
