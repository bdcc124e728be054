import { describe, expect, it } from 'vitest';
import { chaosTable, runChaos } from './chaos.js';

/**
 * The chaos suite's short form, in CI (test/chaos/run.ts runs the full one): 1,500 submissions
 * under every fault of the full run, once each, and a worker SIGKILLed every 2.5 s.
 */
describe.each(['bullmq', 'rabbitmq'] as const)('chaos (short form) on %s', (backend) => {
  it('loses no acknowledged task, makes no duplicate, keeps no fenced-off result', async () => {
    const report = await runChaos({ backend, tasks: 1500, leafMs: [100, 300], killEveryMs: 2500, faultSpacingMs: 2000, log: (l) => console.log(l) });
    console.log(chaosTable(report));
    expect(report.acknowledged).toBe(report.submitted);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.unexpected).toBe(0);
    expect(report.fencedResults).toBe(0);
    // Every re-run of a handler followed a run a fault cut short.
    expect(report.rerunsExplained).toBe(report.reruns);
    // Every acknowledged root ended; the only failure allowed is a task quarantined for killing
    // its workers (three crashes of the worker running it, which random kills can cause).
    const failed = Object.entries(report.failed);
    expect(failed.filter(([code]) => code !== 'DROVER_ERR_TASK_QUARANTINED')).toEqual([]);
    expect(report.completed + failed.reduce((a, [, n]) => a + n, 0)).toBe(report.acknowledged);
    // Every fault kind happened, and the cluster recovered from each.
    const kinds = new Set(report.faults.map((f) => f.kind));
    expect(kinds.size).toBe(backend === 'rabbitmq' ? 6 : 5);
  }, 300_000);
});
