/**
 * `npm run bench`: every benchmark in turn, each in its own process so they never share an
 * event loop or a Redis. Each prints its own figures and ratios against a baseline it runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const benches = ['drain.ts', 'http-submit.ts', 'rabbitmq-drain.ts', 'scraper-throughput.ts', 'metrics-scrape.ts', 'autoscale.ts', 'fanout.ts', 'fairness.ts', 'memory-recall.ts'];
let failed = 0;
for (const file of benches) {
  const path = resolve(import.meta.dirname, file);
  if (!existsSync(path)) continue;
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', path, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
