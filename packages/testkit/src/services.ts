import { randomBytes } from 'node:crypto';

/**
 * The Redis URL tests use: DROVER_TEST_REDIS_URL when set (CI or a developer's own server),
 * otherwise the private server the vitest global setup started and exported under that name.
 */
export function testRedisUrl(): string {
  const url = process.env['DROVER_TEST_REDIS_URL'];
  if (!url) throw new Error('DROVER_TEST_REDIS_URL is not set and no private redis-server was started (run tests through vitest).');
  return url;
}

export function testAmqpUrl(): string | undefined {
  return process.env['DROVER_TEST_AMQP_URL'] || undefined;
}

/** A unique, key-safe name for one test's queues and prefixes, so tests never share state. */
export function uniqueName(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}
