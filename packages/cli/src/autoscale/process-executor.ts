import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Executor } from './executor.js';

export interface ProcessExecutorOptions {
  /** The worker command, split on spaces, e.g. `node packages/worker/dist/main.js`. */
  command: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each worker's output, for logs. */
  onOutput?: (worker: string, line: string) => void;
}

/**
 * Local worker processes: scaling up starts workers (each on a free health port), scaling down
 * sends SIGTERM to the newest ones, which drain (finish running tasks within
 * DROVER_SHUTDOWN_GRACE_MS, put the rest back) and exit. It only ever signals processes it started.
 */
export class ProcessExecutor implements Executor {
  readonly describe: string;
  private readonly live: Array<{ name: string; port: number; child: ChildProcess }> = [];
  private readonly stopping = new Set<Promise<unknown>>();
  private seq = 0;

  constructor(private readonly options: ProcessExecutorOptions) {
    this.describe = `local processes: ${options.command}`;
  }

  async current(): Promise<number> {
    for (let i = this.live.length - 1; i >= 0; i--) {
      const c = this.live[i]!.child;
      if (c.exitCode !== null || c.signalCode !== null) this.live.splice(i, 1);
    }
    return this.live.length;
  }

  /** The workers that count as replicas (not those draining): name, PID and health port. */
  workers(): Array<{ name: string; pid: number; port: number }> {
    return this.live.map((w) => ({ name: w.name, pid: w.child.pid ?? -1, port: w.port }));
  }

  /** Processes alive, draining ones included: what the machine is paying for. */
  alive(): number {
    return this.live.length + this.stopping.size;
  }

  async scale(replicas: number): Promise<void> {
    await this.current();
    while (this.live.length < replicas) await this.startOne();
    while (this.live.length > replicas) this.stopOne(this.live.pop()!.child);
  }

  async close(): Promise<void> {
    for (const w of this.live.splice(0)) this.stopOne(w.child);
    await Promise.all(this.stopping);
  }

  /** Resolves once every worker that was told to stop has exited. */
  async drained(): Promise<void> {
    await Promise.all(this.stopping);
  }

  private async startOne(): Promise<void> {
    const [file, ...args] = this.options.command.split(/\s+/).filter(Boolean);
    if (!file) throw new Error('the worker command is empty');
    const name = `autoscaled-${process.pid}-${++this.seq}`;
    const port = await freePort();
    const child = spawn(file, args, {
      cwd: this.options.cwd,
      env: { ...this.options.env, DROVER_WORKER_PORT: String(port), DROVER_INSTANCE: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.on('error', (err) => this.options.onOutput?.(name, `failed to start: ${err.message}`));
    const forward = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) this.options.onOutput?.(name, line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    this.live.push({ name, port, child });
  }

  private stopOne(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const p = exited.finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}
