/**
 * The autoscaling burst (issue 12, must-show 4): 2,000 tasks of 200 ms on a fixed pool of the
 * maximum size, on a pool sized by `drover autoscale`'s loop from the live scaling query of a real
 * Prometheus (local-process executor), and once on a fixed pool of the minimum size. Workers run
 * the compiled dist/ (as in the images), so the build runs first when dist/ is missing.
 * Target: the autoscaled drain within 1.3x of the fixed maximum pool's, with fewer worker-seconds
 * over the burst's cycle (submission until the pool is back at the minimum).
 *
 *   node --conditions=@drover/source --import tsx bench/autoscale.ts [--runs 3] [--period 0.5] [--tasks 2000]
 *
 * Uses DROVER_BENCH_REDIS_URL when set, else a private redis-server on a free port.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '@drover/testkit';
import { AutoscaleScenario, type DrainResult } from '../test/support/autoscale-scenario.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, period: { type: 'string', default: '0.5' }, tasks: { type: 'string', default: '2000' }, 'skip-min': { type: 'boolean' } } });
if (!existsSync(resolve(ROOT, 'packages/worker/dist/worker.mjs'))) {
  console.log('building dist/ (npm run build) ...');
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}
const redis = process.env['DROVER_BENCH_REDIS_URL'] ? undefined : await RedisServer.start();
const options = { tasks: Number(values.tasks), taskMs: 200, concurrency: 10, min: 1, max: 6 };
const scenario = await AutoscaleScenario.start({
  redisUrl: process.env['DROVER_BENCH_REDIS_URL'] ?? redis!.url,
  ...options,
  periodSeconds: Number(values.period),
  // The bundled worker, as the image runs it (packages/worker/bundle.mjs).
  workerCommand: process.env.DROVER_BENCH_WORKER ?? `${process.execPath} packages/worker/dist/worker.mjs`,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fixedMax: DrainResult[] = [];
const auto: DrainResult[] = [];
try {
  console.log(`${options.tasks} tasks of ${options.taskMs} ms, concurrency ${options.concurrency}, min ${options.min}, max ${options.max}, scrape and sync every ${values.period} s`);
  for (let i = 0; i < Number(values.runs); i++) {
    const m = await scenario.fixed(options.max);
    const a = await scenario.autoscaled();
    fixedMax.push(m);
    auto.push(a);
    const fixedCycle = (options.max * a.cycleMs!) / 1000;
    console.log(
      `run ${i + 1}: fixed ${options.max} ${(m.drainMs / 1000).toFixed(2)} s | autoscaled ${(a.drainMs / 1000).toFixed(2)} s (${(a.drainMs / m.drainMs).toFixed(2)}x), cycle ${(a.cycleMs! / 1000).toFixed(1)} s: worker-seconds ${a.cycleWorkerSeconds!.toFixed(1)} vs fixed ${fixedCycle.toFixed(1)} (${(a.cycleWorkerSeconds! / fixedCycle).toFixed(2)}x)`,
    );
    console.log(`  timeline: ${a.timeline.filter((e) => e.replicas !== e.current).map((e) => `+${((e.at - a.timeline[0]!.at) / 1000).toFixed(1)}s ${e.current}->${e.replicas}`).join(', ')}`);
  }
  const min = values['skip-min'] ? undefined : await scenario.fixed(options.min);
  const ratio = median(auto.map((a, i) => a.drainMs / fixedMax[i]!.drainMs));
  const cost = median(auto.map((a) => a.cycleWorkerSeconds! / ((options.max * a.cycleMs!) / 1000)));
  console.log('\nmedians:');
  if (min) console.log(`  fixed ${options.min}:     drain ${(min.drainMs / 1000).toFixed(2)} s`);
  console.log(`  fixed ${options.max}:     drain ${(median(fixedMax.map((r) => r.drainMs)) / 1000).toFixed(2)} s`);
  console.log(`  autoscaled:  drain ${(median(auto.map((r) => r.drainMs)) / 1000).toFixed(2)} s`);
  console.log(`  autoscaled / fixed ${options.max} drain: ${ratio.toFixed(2)}x (target <= 1.3x)  ${ratio <= 1.3 ? 'MET' : 'NOT MET'}`);
  console.log(`  worker-seconds over the cycle, autoscaled / fixed ${options.max}: ${cost.toFixed(2)}x (target < 1)  ${cost < 1 ? 'MET' : 'NOT MET'}`);
} finally {
  await scenario.stop();
  await redis?.stop();
}
