import { testRedisUrl } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoscaleScenario, type DrainResult } from '../support/autoscale-scenario.js';

/**
 * Must-show 4 of the scale-out issue: the autoscaler, driven by the live scaling query from a real
 * Prometheus through the local-process executor, sizes real worker processes for a burst of 2,000
 * tasks of 200 ms. The same burst runs on fixed pools of the minimum and the maximum size for
 * comparison. Drain times are printed, not asserted (timing belongs to bench/autoscale.ts, which
 * reports medians); what is asserted is the behaviour: the pool grows past the minimum up to the
 * maximum, every task succeeds, the pool returns to the minimum, and over the burst's cycle (from
 * submission until the pool is back at the minimum) it costs fewer worker-seconds than the fixed
 * maximum pool, which runs its workers all the time.
 */
describe('drover autoscale with local worker processes', () => {
  const lines: string[] = [];
  let scenario: AutoscaleScenario;
  const options = { tasks: 2000, taskMs: 200, concurrency: 10, min: 1, max: 6 };

  beforeAll(async () => {
    scenario = await AutoscaleScenario.start({ redisUrl: testRedisUrl(), ...options, log: (l) => lines.push(l) });
  }, 60_000);
  afterAll(async () => {
    await scenario?.stop();
  });

  it('scales up for a burst, drains it, and scales back to the minimum', async () => {
    const max = await scenario.fixed(options.max);
    const auto = await scenario.autoscaled();
    const min = await scenario.fixed(options.min);
    const cycle = auto.cycleMs!;
    const fixedMaxCycle = (options.max * cycle) / 1000;
    const row = (r: DrainResult) => `  ${r.mode.padEnd(10)} drain ${(r.drainMs / 1000).toFixed(1).padStart(5)} s  worker-seconds ${r.workerSeconds.toFixed(1).padStart(6)}  peak ${r.peak}`;
    console.log(
      [
        `autoscale: ${options.tasks} tasks of ${options.taskMs} ms, concurrency ${options.concurrency}, min ${options.min} max ${options.max}`,
        'replica timeline (one line per decision):',
        ...lines,
        row(min),
        row(max),
        row(auto),
        `  autoscaled / fixed max drain: ${(auto.drainMs / max.drainMs).toFixed(2)}x (target <= 1.3x); back to ${auto.settled} worker ${((auto.settleMs ?? 0) / 1000).toFixed(1)} s after the drain`,
        `  worker-seconds over the burst's cycle (${(cycle / 1000).toFixed(1)} s): autoscaled ${auto.cycleWorkerSeconds!.toFixed(1)}, fixed ${options.max} ${fixedMaxCycle.toFixed(1)}, fixed ${options.min} ${((options.min * cycle) / 1000).toFixed(1)}`,
      ].join('\n'),
    );
    expect(auto.peak).toBe(options.max);
    expect(auto.timeline.some((e) => e.replicas > e.current)).toBe(true);
    expect(auto.timeline.some((e) => e.replicas < e.current && e.replicas === options.min)).toBe(true);
    expect(auto.settled).toBe(options.min);
    expect(auto.cycleWorkerSeconds).toBeLessThan(fixedMaxCycle);
    expect(auto.drainMs).toBeLessThan(min.drainMs);
  }, 240_000);
});
