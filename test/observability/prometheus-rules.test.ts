import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const RULES = ['deploy/prometheus/drover-rules.yml', 'deploy/prometheus/drover-alerts.yml'];

/** The recording rules and alerts pass promtool's checks and its unit tests (values and firing). */
describe('Prometheus rules (promtool)', () => {
  it('promtool check rules accepts both files', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', ...RULES], { cwd: ROOT });
    expect(stdout.match(/SUCCESS: 3 rules found/g)).toHaveLength(2);
  });

  it('promtool test rules: every recording rule computes its value and every alert fires when it should, not before', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'deploy/prometheus/tests/drover-rules.test.yml'], { cwd: ROOT });
    expect(stdout).toContain('SUCCESS');
  });

  it('a broken rule fails promtool test rules (the check can fail)', async () => {
    // The same test file against a rules file whose per-worker ratio is wrong.
    const dir = mkdtempSync(resolve(tmpdir(), 'drover-rules-'));
    mkdirSync(resolve(dir, 'tests'));
    writeFileSync(resolve(dir, 'drover-rules.yml'), readFileSync(resolve(ROOT, RULES[0]!), 'utf8').replace('clamp_min(max by (queue) (drover_queue_workers), 1)', 'clamp_min(sum by (queue) (drover_queue_workers), 1)'));
    writeFileSync(resolve(dir, 'drover-alerts.yml'), readFileSync(resolve(ROOT, RULES[1]!), 'utf8'));
    writeFileSync(resolve(dir, 'tests/t.yml'), readFileSync(resolve(ROOT, 'deploy/prometheus/tests/drover-rules.test.yml'), 'utf8'));
    const failed = await run('promtool', ['test', 'rules', resolve(dir, 'tests/t.yml')]).then(
      () => null,
      (err: { stdout: string; stderr: string }) => `${err.stdout}${err.stderr}`,
    );
    rmSync(dir, { recursive: true, force: true });
    expect(failed).toContain('queue:drover_backlog_per_worker:ratio');
  });
});
