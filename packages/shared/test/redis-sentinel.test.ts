import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, taskFinished, testBroker, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Consumer } from '../src/backend.js';
import { loadConfig } from '../src/config.js';
import { createBackend } from '../src/create-backend.js';
import { redactRedisUrl, redisOptionsFromUrl } from '../src/redis-url.js';
import { completeSubmit } from '../src/task.js';

const DATA_PASSWORD = 'data-s3cret/with@odd:chars';
const SENTINEL_PASSWORD = 'sentinel-s3cret&more';
const MASTER = 'drover-test';

describe('DROVER_REDIS_URL=redis+sentinel://…', () => {
  it('parses into ioredis Sentinel options', () => {
    const url = `redis+sentinel://app:${encodeURIComponent(DATA_PASSWORD)}@10.0.0.1:26379,sentinel-b,[::1]:26380/${MASTER}?db=2&sentinelUsername=watcher&sentinelPassword=${encodeURIComponent(SENTINEL_PASSWORD)}`;
    const o = redisOptionsFromUrl(url);
    expect(o).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: MASTER,
      role: 'master',
      username: 'app',
      password: DATA_PASSWORD,
      db: 2,
      sentinelUsername: 'watcher',
      sentinelPassword: SENTINEL_PASSWORD,
    });
    expect(o.host).toBeUndefined();
    expect(loadConfig({ DROVER_REDIS_URL: url }).backend).toBe('bullmq');
  });

  it('leaves redis:// and rediss:// as they were', () => {
    expect(loadConfig({ DROVER_REDIS_URL: 'redis://:pw@127.0.0.1:6380/3' }).redisUrl).toBe('redis://:pw@127.0.0.1:6380/3');
    expect(redisOptionsFromUrl('redis://:pw@127.0.0.1:6380/3')).toEqual({ host: '127.0.0.1', port: 6380, password: 'pw', db: 3 });
    expect(redisOptionsFromUrl('rediss://u:pw@redis.internal')).toEqual({ host: 'redis.internal', port: 6379, username: 'u', password: 'pw', tls: {} });
  });

  it.each([
    ['no master name', `redis+sentinel://:${DATA_PASSWORD}@127.0.0.1:26379`, /master's name/],
    ['no sentinel', `redis+sentinel://:${DATA_PASSWORD}@/${MASTER}`, /sentinel addresses/],
    ['a bad port', 'redis+sentinel://127.0.0.1:99999/m', /sentinel addresses/],
    ['an unknown parameter', `redis+sentinel://h/m?sentinelpassword=${SENTINEL_PASSWORD}`, /query parameters only among db, sentinelUsername, sentinelPassword/],
    ['an unencoded & in a password', `redis+sentinel://h/m?sentinelPassword=${SENTINEL_PASSWORD}`, /query parameters only among/],
    ['a bad db', `redis+sentinel://:${DATA_PASSWORD}@h/m?db=two`, /db=N/],
    ['another scheme', `http://:${DATA_PASSWORD}@127.0.0.1`, /redis or rediss.*redis\+sentinel/],
  ])('refuses %s with a configuration error that names the variable and hides the secrets', (_what, value, accepted) => {
    let err: unknown;
    try {
      loadConfig({ DROVER_REDIS_URL: value });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'DROVER_ERR_CONFIG', details: { variable: 'DROVER_REDIS_URL' } });
    const message = (err as Error).message;
    expect(message).toMatch(/^DROVER_REDIS_URL=/);
    expect(message).toMatch(accepted);
    for (const secret of ['s3cret', 'more', 'odd:chars']) expect(message).not.toContain(secret);
  });

  it('redacts both passwords for messages, even in a URL it cannot parse', () => {
    const url = `redis+sentinel://app:${DATA_PASSWORD}@h1:26379,h2/m?db=1&sentinelPassword=${SENTINEL_PASSWORD}`;
    expect(redactRedisUrl(url)).toBe('redis+sentinel://app:***@h1:26379,h2/m?db=1&sentinelPassword=***');
    expect(redactRedisUrl('redis://:pw@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
  });
});

/**
 * A master, its replica and a sentinel on loopback ports, with passwords on both. The backends
 * are configured with only the sentinel URL; the master is SIGKILLed, the sentinel promotes the
 * replica, and the same backend objects submit and run tasks on the new master.
 */
describe('backends on Redis Sentinel, across a failover', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-sentinel-'));
  const children: ChildProcess[] = [];
  const backends: Backend[] = [];
  const consumers: Consumer[] = [];
  let master: ChildProcess;
  let sentinelPort = 0;
  let replicaPort = 0;
  let masterPort = 0;
  let url = '';
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let brokerStarting: ReturnType<typeof testBroker> | undefined;
  const reap = () => {
    for (const c of children) {
      if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) continue;
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const launch = (args: string[]): ChildProcess => {
    const child = spawn(process.env['DROVER_TEST_REDIS_SERVER_BIN'] ?? 'redis-server', args, { stdio: 'ignore' });
    child.on('error', () => undefined);
    children.push(child);
    return child;
  };
  const client = (port: number, password: string) => {
    const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    return c;
  };
  /** The answer of one command, or null while the server is not up. */
  const ask = async (port: number, password: string, ...command: [string, ...string[]]): Promise<unknown> => {
    const c = client(port, password);
    try {
      await c.connect();
      return await c.call(...command);
    } catch {
      return null;
    } finally {
      c.disconnect();
    }
  };
  const serverArgs = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--requirepass', DATA_PASSWORD, '--masterauth', DATA_PASSWORD];
  const sentinelMaster = async () => ((await ask(sentinelPort, SENTINEL_PASSWORD, 'SENTINEL', 'get-master-addr-by-name', MASTER)) as string[] | null)?.[1];

  beforeAll(async () => {
    process.once('exit', reap);
    brokerStarting = testBroker(); // seconds when it starts a node: overlap it with Redis
    brokerStarting.catch(() => undefined); // awaited below
    masterPort = await freePort();
    const deadSentinel = await freePort();
    replicaPort = await freePort();
    sentinelPort = await freePort();
    master = launch(serverArgs(masterPort));
    launch([...serverArgs(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)]);
    await waitUntil(async () => String(await ask(replicaPort, DATA_PASSWORD, 'INFO', 'replication')).includes('master_link_status:up'), 'the replica to sync');
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `requirepass "${SENTINEL_PASSWORD}"`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 1`,
        `sentinel auth-pass ${MASTER} "${DATA_PASSWORD}"`,
        `sentinel down-after-milliseconds ${MASTER} 500`,
        `sentinel failover-timeout ${MASTER} 3000`,
        '',
      ].join('\n'),
    );
    launch([conf, '--sentinel']);
    await waitUntil(async () => {
      const replicas = (await ask(sentinelPort, SENTINEL_PASSWORD, 'SENTINEL', 'replicas', MASTER)) as string[][] | null;
      return replicas?.some((r) => r.includes(String(replicaPort)) && r[r.indexOf('flags') + 1] === 'slave');
    }, 'the sentinel to see the replica');
    // A dead sentinel first in the list: clients go on to the next one.
    url = `redis+sentinel://:${encodeURIComponent(DATA_PASSWORD)}@127.0.0.1:${deadSentinel},127.0.0.1:${sentinelPort}/${MASTER}?sentinelPassword=${encodeURIComponent(SENTINEL_PASSWORD)}`;
    broker = await brokerStarting;
  }, 60_000);

  afterAll(async () => {
    try {
      for (const c of consumers.splice(0)) await c.close(0).catch(() => undefined);
      for (const b of backends.splice(0)) await b.close().catch(() => undefined);
    } finally {
      reap();
      process.off('exit', reap);
      await (broker ?? (await brokerStarting?.catch(() => undefined)))?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('submits and runs tasks before and after the master is killed and the replica promoted', async () => {
    const prefix = uniqueName('sentinel');
    const env = { DROVER_REDIS_URL: url, DROVER_PREFIX: prefix, DROVER_QUEUES: 'alpha' };
    const bullmq = await createBackend(loadConfig(env));
    const rabbitmq = await createBackend(loadConfig({ ...env, DROVER_BACKEND: 'rabbitmq', DROVER_AMQP_URL: broker!.url, DROVER_PREFIX: `${prefix}-rmq` }));
    backends.push(bullmq, rabbitmq);
    const req = (n: number) => completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n } });
    for (const b of [bullmq, rabbitmq]) consumers.push(await b.consume('alpha', { concurrency: 2, handler: async (t) => t.input }));

    const before = await Promise.all([bullmq.submit(req(1)), rabbitmq.submit(req(1))]);
    expect((await taskFinished(bullmq, before[0].task.id)).output).toEqual({ n: 1 });
    expect((await taskFinished(rabbitmq, before[1].task.id)).output).toEqual({ n: 1 });

    // Replication is asynchronous: a write the master acknowledged can be lost with it (the
    // loss window docs/reliability.md states). This test is about the client finding the new
    // master, so the writes above are on the replica before the master goes.
    expect(Number(await ask(masterPort, DATA_PASSWORD, 'WAIT', '1', '5000'))).toBe(1);
    const exited = new Promise((r) => master.once('exit', r));
    process.kill(master.pid!, 'SIGKILL');
    await exited;
    await waitUntil(async () => (await sentinelMaster()) === String(replicaPort), 'the sentinel to promote the replica', 20_000, 100);

    // The same backend objects, never told where the new master is: readiness comes back, then
    // a submission succeeds and its task runs, and what was written before the failover is there.
    for (const b of [bullmq, rabbitmq]) await waitUntil(() => b.ping().then(() => true, () => false), `${b.kind} to reconnect`, 20_000, 100);
    const after = await Promise.all([bullmq.submit(req(2)), rabbitmq.submit(req(2))]);
    expect((await taskFinished(bullmq, after[0].task.id, 20_000)).output).toEqual({ n: 2 });
    expect((await taskFinished(rabbitmq, after[1].task.id, 20_000)).output).toEqual({ n: 2 });
    expect((await bullmq.get(before[0].task.id))?.status).toBe('succeeded');
    expect((await rabbitmq.get(before[1].task.id))?.status).toBe('succeeded');
  }, 60_000);
});
