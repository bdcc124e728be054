import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface DashboardPanel {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: { refId: string; expr: string; datasource: { uid: string } }[];
}

const PATH = resolve(import.meta.dirname, '../../compose/observability/grafana/dashboards/drover.json');

export function readDashboard(): { uid: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(PATH, 'utf8'));
}

/** Every panel query, with the dashboard's `$queue` variable set to a regex, as Grafana sends them. */
export function dashboardQueries(dashboard: { panels: DashboardPanel[] }, queue: string): { title: string; expr: string }[] {
  return dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr.replaceAll('$queue', queue) })));
}
