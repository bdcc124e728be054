import type { RedisOptions } from 'ioredis';
import { DroverError } from '../../errors.js';

/** ioredis options from a redis:// or rediss:// URL, so BullMQ can own the connections it needs. */
export function redisOptionsFromUrl(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Whatever a Redis call threw, as the error callers branch on. */
export function unavailable(err: unknown): DroverError {
  if (err instanceof DroverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DroverError('BACKEND_UNAVAILABLE', `Redis is unreachable (${message}); retry shortly.`, { retryable: true, cause: err });
}
