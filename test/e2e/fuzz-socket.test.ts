import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { RedisServer, freePort, uniqueName } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, waitReady } from '../support/service-process.js';

/**
 * 10,000 malformed, oversized and adversarial requests over real sockets against a running
 * orchestrator process (issue 14): bad JSON, huge strings and bodies, deep nesting, unicode, wrong
 * types, path traversal in ids, header abuse, garbage instead of HTTP, and slow-loris connections
 * held open meanwhile. No answer is a 5xx, the process stays up, and its memory is printed before
 * and after (and must not have run away).
 */
const ROUNDS = Number(process.env['FUZZ_SOCKET_ROUNDS'] ?? 10_000);
const KEY = `fuzz-${'k'.repeat(24)}`;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Sends raw bytes, returns the status code of the first answer (0 when the server just closed). */
function send(port: number, bytes: Buffer | string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = () => {
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.setTimeout(5000, done);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (/\r\n\r\n/.test(data)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(bytes);
    socket.end();
  });
}

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('adversarial requests over real sockets', () => {
  let redis: RedisServer;
  let orchestrator: ServiceProcess;
  let port = 0;

  beforeAll(async () => {
    redis = await RedisServer.start();
    port = await freePort();
    orchestrator = ServiceProcess.start('orchestrator', 'packages/orchestrator/src/main.ts', {
      DROVER_REDIS_URL: redis.url,
      DROVER_PREFIX: uniqueName('fuzz'),
      DROVER_API_KEYS: `acme:${KEY}`,
      DROVER_HOST: '127.0.0.1',
      DROVER_PORT: String(port),
      DROVER_LOG_LEVEL: 'warn',
    });
    await waitReady(`http://127.0.0.1:${port}/readyz`, orchestrator);
  }, 60_000);

  afterAll(async () => {
    await orchestrator?.stop();
    await redis?.stop();
  });

  it(`answers ${ROUNDS} of them without a 5xx or a crash, its memory stable`, async () => {
    const r = rng(20261203);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const auth = `authorization: Bearer ${KEY}\r\n`;
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const bodies = [
      '{"type":"echo","input":',
      '{"type":"echo","input":{"a":1}}',
      '{"type":"sleep","input":{"ms":"x"}}',
      `{"type":"echo","input":${deep(5000)}}`,
      `{"type":"${'e'.repeat(100_000)}"}`,
      `{"type":"echo","input":"${'🙂'.repeat(50_000)}"}`,
      '{"__proto__":{"admin":true},"type":"echo"}',
      '{"type":"echo","priority":1e309}',
      '{"type":"echo","timeoutMs":-1}',
      '\u0000\u0001\u0002',
      'null',
      '[]',
      `{"tasks":[${Array.from({ length: 600 }, () => '{"type":"echo"}').join(',')}]}`,
    ];
    const paths = [
      '/v1/tasks',
      '/v1/tasks/batch',
      '/v1/tasks/..%2f..%2fetc%2fpasswd',
      '/v1/tasks/general.x/../../admin',
      '/v1/tasks/%00',
      '/v1/tasks/%ZZ',
      `/v1/tasks/${'a'.repeat(5000)}`,
      '/v1/tasks/general.abc/cancel',
      '/v1/tasks/general.abc/events?children=maybe',
      '/v1/events?status=nope',
      '/v1/dead-letters?limit=99999',
      '/v1/schedules',
      '/v1/queues/../pause',
      '/metrics',
      '/readyz',
      '/docs/json',
      '/%2e%2e/%2e%2e/',
    ];
    const request = (): string | Buffer => {
      switch (Math.floor(r() * 8)) {
        case 0: // garbage instead of HTTP
          return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
        case 1: // a request line that is not one
          return `${pick(['GET', 'POST', 'BREW', 'G E T', ''])} ${pick(paths)} HTTP/9.9\r\n\r\n`;
        case 2: // header abuse: huge, many, duplicated, folded, bad values
          return `GET /v1/queues HTTP/1.1\r\nhost: x\r\n${pick([
            `x-big: ${'a'.repeat(70_000)}\r\n`,
            Array.from({ length: 3000 }, (_, i) => `x-h${i}: v\r\n`).join(''),
            `authorization: Bearer ${KEY}\r\nauthorization: Bearer other-key-0000000000\r\n`,
            'authorization: Bearer\r\n',
            `authorization: ${'Bearer '.repeat(500)}\r\n`,
            'content-length: -5\r\n',
            'transfer-encoding: chunked\r\ncontent-length: 5\r\n',
            ' folded: header\r\n',
          ])}\r\n`;
        default: {
          const body = pick(bodies);
          const lie = r() < 0.1;
          const type = pick(['application/json', 'application/json; charset=latin1', 'text/plain', 'application/json; charset=utf-8']);
          return `${pick(['POST', 'POST', 'GET', 'DELETE', 'PUT'])} ${pick(paths)} HTTP/1.1\r\nhost: 127.0.0.1\r\n${r() < 0.8 ? auth : ''}content-type: ${type}\r\ncontent-length: ${lie ? Buffer.byteLength(body) + 10 : Buffer.byteLength(body)}\r\n\r\n${body}`;
        }
      }
    };

    // Slow-loris connections, held open while the rest runs: a byte of headers at a time.
    const slow = Array.from({ length: 30 }, () => connect({ host: '127.0.0.1', port }));
    for (const s of slow) s.on('error', () => undefined);
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('x');
    }, 200);
    for (const s of slow) s.write('POST /v1/tasks HTTP/1.1\r\nhost: x\r\nx-slow: ');

    const before = rss(orchestrator.pid!);
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ROUNDS) {
          next++;
          const status = await send(port, request());
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    clearInterval(drip);
    for (const s of slow) s.destroy();
    const after = rss(orchestrator.pid!);
    console.log(
      `${ROUNDS} adversarial requests: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; RSS before ${(before / 2 ** 20).toFixed(0)} MiB, after ${(after / 2 ** 20).toFixed(0)} MiB`,
    );
    const fivexx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    expect(fivexx).toBe(0);
    expect(orchestrator.running).toBe(true);
    // Still serving, and no runaway memory (the heap may grow with the tasks it accepted).
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(after).toBeLessThan(before * 2 + 100 * 2 ** 20);
  }, 180_000);
});
