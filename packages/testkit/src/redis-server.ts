import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface RedisServerOptions {
  /** AOF with `appendfsync everysec`, as recommended for production: `restart()` keeps the data. */
  aof?: boolean;
}

/**
 * A private redis-server on a free loopback port, for tests that must own their Redis (fault
 * tests kill and restart it). `restart()` brings it back on the same port; data is not kept
 * unless `aof` is set.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'drover-redis-'));

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions = {},
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async launch(): Promise<void> {
    const bin = process.env['DROVER_TEST_REDIS_SERVER_BIN'] ?? 'redis-server';
    const persistence = this.options.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
    this.child = spawn(bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir], {
      stdio: 'ignore',
    });
    this.child.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch (err) {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}: ${String(err)}. Is redis-server installed?`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** SIGKILL: the way a crashed node or a lost network looks to clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
