import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
export const DASHBOARD_DIR = root('packages/dashboard');
export const DASHBOARD_DIST = root('packages/dashboard/dist');

/** What the bundle is made of: the dashboard's sources and the SDK's. */
const INPUTS = [root('packages/dashboard/src'), root('packages/dashboard/index.html'), root('packages/dashboard/vite.config.ts'), root('packages/client/src')];

/**
 * Builds packages/dashboard (vite build) when dist/index.html is missing (CI starts fresh) or
 * older than a source, so the browser test never runs a stale bundle.
 */
export function ensureDashboardBuilt(): void {
  const index = join(DASHBOARD_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...INPUTS.map(newest))) return;
  execFileSync('npx', ['vite', 'build'], { cwd: DASHBOARD_DIR, stdio: 'pipe', timeout: 170_000 });
}

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}
