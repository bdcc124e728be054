import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { dashboardQueries, readDashboard } from '../support/grafana-dashboard.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GRAFANA = resolve(ROOT, 'compose/observability/grafana');
const run = promisify(execFile);

/** Every metric name Drover's code registers, read from its sources. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const pkg of readdirSync(resolve(ROOT, 'packages'))) {
    const src = resolve(ROOT, 'packages', pkg, 'src');
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      for (const [, name] of readFileSync(resolve(src, file), 'utf8').matchAll(/'(drover_[a-z_]+)'/g)) names.add(name!);
    }
  }
  return names;
}

function recordedRules(): Set<string> {
  const rules = parseYaml(readFileSync(resolve(ROOT, 'deploy/prometheus/drover-rules.yml'), 'utf8')) as { groups: { rules: { record?: string }[] }[] };
  return new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => !!r)));
}

/** The provisioned Grafana dashboard (compose `observability` profile) is linted here and queried live in test/observability. */
describe('the Grafana dashboard', () => {
  const dashboard = readDashboard();
  const datasource = (parseYaml(readFileSync(resolve(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string }[] }).datasources[0]!;

  it('has unique panel ids, and every panel and query uses the provisioned Prometheus datasource', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.datasource.uid, p.title).toBe(datasource.uid);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource.uid, p.title).toBe(datasource.uid);
    }
  });

  it('queries only metrics Drover exports or records', () => {
    const known = new Set([...exportedMetrics(), ...recordedRules()]);
    expect(known.has('drover_queue_backlog')).toBe(true);
    for (const { title, expr } of dashboardQueries(dashboard, '.*')) {
      const used = [...expr.matchAll(/\b((?:queue:)?drover_[a-z_]+(?::[a-z]+)?)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
      expect(used.length, title).toBeGreaterThan(0);
      for (const name of used) expect(known, `${title}: ${name}`).toContain(name);
    }
  });

  it('every query is valid PromQL (promtool check rules on the queries as recording rules)', async () => {
    const queries = dashboardQueries(dashboard, '.*');
    const dir = mkdtempSync(resolve(tmpdir(), 'drover-dashboard-'));
    try {
      const file = resolve(dir, 'queries.yml');
      writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}:check`, expr: q.expr })) }] }));
      const { stdout } = await run('promtool', ['check', 'rules', file]);
      expect(stdout).toContain(`SUCCESS: ${queries.length} rules found`);
      // And the check can fail: a broken query is refused.
      writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard', rules: [{ record: 'dashboard:broken:check', expr: 'max by (queue (drover_queue_backlog)' }] }] }));
      await expect(run('promtool', ['check', 'rules', file])).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the dashboards provider reads the directory compose mounts the dashboard into', () => {
    const provider = (parseYaml(readFileSync(resolve(GRAFANA, 'provisioning/dashboards/drover.yml'), 'utf8')) as { providers: { options: { path: string } }[] }).providers[0]!;
    const compose = readFileSync(resolve(ROOT, 'compose/compose.yaml'), 'utf8');
    expect(compose).toContain(`./observability/grafana/dashboards:${provider.options.path}:ro`);
  });
});
