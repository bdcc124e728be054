import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Applies a replica count to something that runs workers. */
export interface Executor {
  readonly describe: string;
  current(): Promise<number>;
  scale(replicas: number): Promise<void>;
  /** Called when the autoscaler stops. */
  close?(): Promise<void>;
}

/** Runs a command and returns its stdout; injected so the docker executors can be tested here. */
export type CommandRunner = (file: string, args: string[]) => Promise<string>;

const execFileAsync = promisify(execFile);
export const runCommand: CommandRunner = async (file, args) => (await execFileAsync(file, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;

/** `docker compose up -d --no-recreate --scale SERVICE=N SERVICE`; replicas from `docker compose ps`. */
export class ComposeExecutor implements Executor {
  readonly describe: string;

  constructor(
    private readonly service: string,
    private readonly options: { file?: string; project?: string } = {},
    private readonly run: CommandRunner = runCommand,
  ) {
    this.describe = `docker compose service ${service}`;
  }

  private base(): string[] {
    const args = ['compose'];
    if (this.options.file) args.push('-f', this.options.file);
    if (this.options.project) args.push('-p', this.options.project);
    return args;
  }

  async current(): Promise<number> {
    const out = await this.run('docker', [...this.base(), 'ps', '--format', 'json', this.service]);
    return composeRunning(out);
  }

  async scale(replicas: number): Promise<void> {
    await this.run('docker', [...this.base(), 'up', '-d', '--no-recreate', '--scale', `${this.service}=${replicas}`, this.service]);
  }
}

/**
 * Running containers in `docker compose ps --format json` output: one JSON object per line
 * (Compose v2.21+) or one JSON array (older v2).
 */
export function composeRunning(out: string): number {
  const text = out.trim();
  if (text === '') return 0;
  const rows: Array<{ State?: string }> = text.startsWith('[') ? JSON.parse(text) : text.split('\n').map((l) => JSON.parse(l));
  return rows.filter((r) => r.State === 'running').length;
}

/** `docker service scale SERVICE=N` (Swarm); replicas from `docker service inspect`. */
export class SwarmExecutor implements Executor {
  readonly describe: string;

  constructor(
    private readonly service: string,
    private readonly run: CommandRunner = runCommand,
  ) {
    this.describe = `docker swarm service ${service}`;
  }

  async current(): Promise<number> {
    const out = await this.run('docker', ['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.service]);
    const n = Number(out.trim());
    if (!Number.isInteger(n)) throw new Error(`docker service inspect ${this.service}: not a replicated service (${out.trim()})`);
    return n;
  }

  async scale(replicas: number): Promise<void> {
    await this.run('docker', ['service', 'scale', '--detach', `${this.service}=${replicas}`]);
  }
}
