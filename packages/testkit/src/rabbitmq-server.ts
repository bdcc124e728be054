import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const BIN_DIR = '/usr/lib/rabbitmq/bin';

/**
 * A private rabbitmq-server node on free loopback ports, for tests that must own their broker
 * (fault tests restart it). Everything the node writes (mnesia, logs, the Erlang cookie) lives
 * in a temp dir; no plugins are enabled. `restart()` stops and starts the node on the same ports
 * and data dir, so durable queues and persistent messages survive it, as on a real broker restart.
 */
export class RabbitmqServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'drover-rabbitmq-'));
  readonly nodename = `drover-${randomBytes(4).toString('hex')}@localhost`;

  private constructor(
    readonly port: number,
    private readonly distPort: number,
  ) {
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(this.dir, 'rabbitmq.conf'), 'loopback_users = none\n');
  }

  static async start(): Promise<RabbitmqServer> {
    const server = new RabbitmqServer(await freePort(), await freePort());
    await server.launch();
    return server;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HOME: this.dir, // the Erlang cookie is created and read here
      RABBITMQ_NODENAME: this.nodename,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(this.dir, 'plugins'),
      RABBITMQ_PID_FILE: join(this.dir, 'rabbitmq.pid'),
    };
  }

  async launch(): Promise<void> {
    const bin = process.env['DROVER_TEST_RABBITMQ_SERVER_BIN'] ?? join(BIN_DIR, 'rabbitmq-server');
    const child = spawn(bin, [], { env: this.env(), stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    this.child = child;
    // If the test process dies without stop(), do not leave a broker behind.
    const reap = () => this.killGroup('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const deadline = Date.now() + 60_000;
    while (!(await this.accepting())) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`rabbitmq-server did not start on port ${this.port} (logs in ${join(this.dir, 'log')}). Is rabbitmq-server installed?`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs rabbitmqctl against this node, e.g. ctl('close_all_connections', 'test'). */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run(join(BIN_DIR, 'rabbitmqctl'), ['-n', this.nodename, ...args], { env: this.env(), timeout: 30_000 });
    return stdout;
  }

  /** Closes every client connection from the server side, as a broker failover looks to clients. */
  async closeAllConnections(reason = 'test'): Promise<void> {
    await this.ctl('close_all_connections', reason);
  }

  async stopNode(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    await this.ctl('stop').catch(() => this.killGroup('SIGKILL'));
    const timer = setTimeout(() => this.killGroup('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stopNode();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.stopNode().catch(() => this.killGroup('SIGKILL'));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** True once the AMQP listener answers the protocol header with a Connection.Start frame. */
  private accepting(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('error', () => done(false));
      socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
      socket.once('data', (data) => done(data[0] === 1));
    });
  }
}

/**
 * The broker a test file uses: DROVER_TEST_AMQP_URL when set, else a private node started for
 * the file (it takes seconds, so start one per file and isolate tests by name prefix).
 */
export async function testBroker(): Promise<{ url: string; server: RabbitmqServer | undefined; stop(): Promise<void> }> {
  const shared = process.env['DROVER_TEST_AMQP_URL'];
  if (shared) return { url: shared, server: undefined, stop: async () => undefined };
  const server = await RabbitmqServer.start();
  return { url: server.url, server, stop: () => server.stop() };
}
