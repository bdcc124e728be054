// Relative import: vitest loads global setup outside the test workers, without the
// @drover/source condition that maps workspace packages to their sources.
import { RedisServer } from '../packages/testkit/src/redis-server.js';

/**
 * Starts one private redis-server for the run unless DROVER_TEST_REDIS_URL already names one,
 * and exports its URL to every test process (and the processes tests spawn) through that variable.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env['DROVER_TEST_REDIS_URL']) return async () => undefined;
  const server = await RedisServer.start();
  process.env['DROVER_TEST_REDIS_URL'] = server.url;
  return async () => server.stop();
}
