import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer, freePort, uniqueName, waitUntil } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, waitReady } from '../support/service-process.js';

/**
 * API keys from a mounted secret file (DROVER_API_KEYS_FILE), rotated without a restart: the
 * orchestrator process reads the file again on SIGHUP; a bad new file leaves the old keys.
 */
describe('API key rotation on SIGHUP', () => {
  let redis: RedisServer;
  let orchestrator: ServiceProcess;
  let url = '';
  const dir = mkdtempSync(join(tmpdir(), 'drover-keys-'));
  const file = join(dir, 'api-keys');
  const oldKey = `old-${'a'.repeat(24)}`;
  const newKey = `new-${'b'.repeat(24)}`;

  beforeAll(async () => {
    redis = await RedisServer.start();
    writeFileSync(file, `acme:${oldKey}\n`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', {
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('keys'),
      DROVER_API_KEYS_FILE: file,
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_LOG_LEVEL: 'info',
    });
    await waitReady(`${url}/readyz`, orchestrator);
  }, 60_000);

  afterAll(async () => {
    await orchestrator?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (key: string) => (await fetch(`${url}/v1/queues`, { headers: { authorization: `Bearer ${key}` } })).status;

  it('swaps the keys on SIGHUP, and keeps them when the new file is invalid', async () => {
    expect(await status(oldKey)).toBe(200);
    expect(await status(newKey)).toBe(401);

    writeFileSync(file, `acme:${newKey}\n`);
    orchestrator.signal('SIGHUP');
    await waitUntil(async () => (await status(newKey)) === 200, 'the new key to be accepted', 5000);
    expect(await status(oldKey)).toBe(401);

    // A broken file (a key too short) is refused whole: the current keys stay.
    writeFileSync(file, 'acme:short\n');
    orchestrator.signal('SIGHUP');
    await waitUntil(async () => orchestrator.tail().includes('API keys not reloaded'), 'the refusal in the log', 5000);
    expect(await status(newKey)).toBe(200);
    expect(orchestrator.running).toBe(true);
    // The log names the problem, never a key.
    expect(orchestrator.tail(200)).not.toContain(newKey);
    expect(orchestrator.tail(200)).not.toContain(oldKey);
  }, 30_000);
});
