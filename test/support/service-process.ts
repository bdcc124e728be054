import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '@drover/testkit';

const ROOT = resolve(import.meta.dirname, '../..');

/** A Drover service (orchestrator or worker) started as its own Node process, as in production. */
export class ServiceProcess {
  private output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.keep(d));
    child.stderr?.on('data', (d: Buffer) => this.keep(d));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /** `entry` is relative to the repo root, e.g. packages/worker/src/main.ts. */
  static start(name: string, entry: string, env: Record<string, string>): ServiceProcess {
    const child = spawn(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', entry], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it printed, for failure messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private keep(d: Buffer): void {
    this.output += d.toString();
    if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
  }
}

/** Waits until GET url answers 200 (a service's /readyz), or throws with the service's output. */
export async function waitReady(url: string, service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (!service.running) throw new Error(`${service.name} exited before it was ready:\n${service.tail()}`);
    if (Date.now() > deadline) throw new Error(`${service.name} not ready at ${url} after ${timeoutMs} ms:\n${service.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts an orchestrator on `ports[i]` and waits for its /readyz. freePort() finds a port free at
 * that moment only: when another test's process took it first (EADDRINUSE), it takes another free
 * port (written back to `ports[i]`) and starts again.
 */
export async function startOrchestratorOn(ports: number[], i: number, env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt++) {
    const o = ServiceProcess.start(`orchestrator-${i}`, 'packages/orchestrator/src/main.ts', { ...env, DROVER_PORT: String(ports[i]), DROVER_INSTANCE: `orch-${i}` });
    try {
      await waitReady(`http://127.0.0.1:${ports[i]}/readyz`, o, timeoutMs);
      return o;
    } catch (err) {
      o.signal('SIGKILL'); // never left running behind the test
      if (attempt >= 3 || !o.tail().includes('EADDRINUSE')) throw err;
      ports[i] = await freePort();
    }
  }
}

/**
 * Starts test/support/fixture-worker.ts (the worker with the e2e tests' own task types) and waits
 * until it says it is ready, or throws with what it printed.
 */
export async function startFixtureWorker(name: string, env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> {
  const w = ServiceProcess.start(name, 'test/support/fixture-worker.ts', { ...env, DROVER_INSTANCE: name });
  const deadline = Date.now() + timeoutMs;
  while (!w.tail().includes('worker ready')) {
    if (!w.running) throw new Error(`${name} exited before it was ready:\n${w.tail()}`);
    if (Date.now() > deadline) {
      w.signal('SIGKILL'); // never left running behind the test
      throw new Error(`${name} not ready after ${timeoutMs} ms:\n${w.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return w;
}
