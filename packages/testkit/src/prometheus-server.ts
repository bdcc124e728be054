import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface PrometheusJob {
  job: string;
  /** host:port on 127.0.0.1 */
  targets: string[];
  metricsPath?: string;
}

export interface PrometheusServerOptions {
  scrapeIntervalSeconds?: number;
  ruleFiles?: string[];
  jobs: PrometheusJob[];
}

export interface PrometheusSample {
  labels: Record<string, string>;
  value: number;
}

/**
 * A private Prometheus (Debian's `prometheus` package) on a free loopback port, scraping the
 * given targets. Targets live in file_sd files, so `setTargets()` changes them while it runs
 * (Prometheus re-reads them within a second or so).
 */
export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(options: PrometheusServerOptions): Promise<PrometheusServer> {
    const bin = process.env['DROVER_TEST_PROMETHEUS_BIN'] ?? 'prometheus';
    const dir = mkdtempSync(join(tmpdir(), 'drover-prometheus-'));
    const interval = `${Math.round((options.scrapeIntervalSeconds ?? 1) * 1000)}ms`;
    const lines = ['global:', `  scrape_interval: ${interval}`, `  evaluation_interval: ${interval}`];
    if (options.ruleFiles?.length) lines.push('rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
    lines.push('scrape_configs:');
    for (const j of options.jobs) {
      writeTargets(dir, j.job, j.targets);
      lines.push(
        `  - job_name: ${JSON.stringify(j.job)}`,
        `    metrics_path: ${JSON.stringify(j.metricsPath ?? '/metrics')}`,
        '    file_sd_configs:',
        `      - files: [${JSON.stringify(join(dir, `${j.job}.json`))}]`,
        '        refresh_interval: 1s',
      );
    }
    writeFileSync(join(dir, 'prometheus.yml'), `${lines.join('\n')}\n`);
    const port = await freePort();
    const child = spawn(
      bin,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new Error(`prometheus is not installed (${bin}); apt-get install prometheus`) : err),
      );
      child.once('spawn', () => resolve());
    });
    await spawned;
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, dir);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
      try {
        if ((await fetch(`${server.url}/-/ready`)).ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus did not become ready on ${server.url}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async setTargets(job: string, targets: string[]): Promise<void> {
    writeTargets(this.dir, job, targets);
  }

  /** An instant query through the HTTP API, as the HPA adapter and KEDA send it. */
  async query(promql: string): Promise<PrometheusSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success' || !body.data) throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`query ${promql} returned a ${body.data.resultType}, not a vector`);
    return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }

  async queryScalar(promql: string): Promise<number | null> {
    const [first] = await this.query(promql);
    return first === undefined ? null : first.value;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Written whole and renamed, so Prometheus never reads half a file. */
function writeTargets(dir: string, job: string, targets: string[]): void {
  const file = join(dir, `${job}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: {} }]));
  renameSync(`${file}.tmp`, file);
}
