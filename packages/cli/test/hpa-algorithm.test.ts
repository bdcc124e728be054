import { describe, expect, it } from 'vitest';
import { HPA_DEFAULTS, HpaAlgorithm, type HpaOptions } from '../src/autoscale/hpa-algorithm.js';

const options = (o: Partial<HpaOptions> = {}): HpaOptions => ({ ...HPA_DEFAULTS, minReplicas: 1, maxReplicas: 20, targetPerReplica: 10, ...o });
const s = (seconds: number) => seconds * 1000;

describe('the HPA algorithm', () => {
  it('asks for ceil(backlog / target) and scales up by the larger of 4 pods and 100% per 15 s', () => {
    const hpa = new HpaAlgorithm(options());
    expect(hpa.decide(s(0), 1, 100)).toMatchObject({ raw: 10, replicas: 5 }); // 1 + 4 beats 1 × 2
    expect(hpa.decide(s(5), 5, 100)).toMatchObject({ raw: 10, replicas: 5 }); // the 4 added 5 s ago still count
    expect(hpa.decide(s(15), 5, 100)).toMatchObject({ raw: 10, replicas: 10 }); // 5 × 2 = 10
    expect(hpa.decide(s(30), 10, 400)).toMatchObject({ raw: 20, replicas: 20 }); // capped by max
    expect(hpa.decide(s(45), 20, 1000)).toMatchObject({ raw: 20, replicas: 20 });
  });

  it('leaves the count alone within the tolerance of 0.1', () => {
    const hpa = new HpaAlgorithm(options());
    expect(hpa.decide(s(0), 5, 54).replicas).toBe(5); // ratio 1.08
    expect(hpa.decide(s(15), 5, 46).replicas).toBe(5); // ratio 0.92
    expect(hpa.decide(s(30), 5, 56).replicas).toBe(6); // ratio 1.12: ceil(5.6)
  });

  it('scales down only to the highest recommendation of the stabilisation window', () => {
    const hpa = new HpaAlgorithm(options({ scaleDown: { ...HPA_DEFAULTS.scaleDown, stabilizationWindowSeconds: 60 } }));
    expect(hpa.decide(s(0), 8, 80).replicas).toBe(8);
    expect(hpa.decide(s(15), 8, 0).replicas).toBe(8); // 8 was recommended 15 s ago
    expect(hpa.decide(s(45), 8, 30).replicas).toBe(8);
    expect(hpa.decide(s(61), 8, 30).replicas).toBe(3); // the 8 left the window; 3 is the highest since
    expect(hpa.decide(s(121), 3, 0).replicas).toBe(1); // down to min
  });

  it('limits scale-down by its policies and clamps to min and max', () => {
    const hpa = new HpaAlgorithm(
      options({ minReplicas: 2, maxReplicas: 10, scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 30 }] } }),
    );
    expect(hpa.decide(s(0), 10, 0).replicas).toBe(9);
    expect(hpa.decide(s(15), 9, 0).replicas).toBe(9); // one pod per 30 s
    expect(hpa.decide(s(31), 9, 0).replicas).toBe(8);
    expect(new HpaAlgorithm(options({ minReplicas: 2, maxReplicas: 3 })).decide(s(0), 2, 10_000).replicas).toBe(3);
  });

  it('scales from and to zero when min is 0, and never when a direction is Disabled', () => {
    const zero = new HpaAlgorithm(options({ minReplicas: 0, scaleDown: { ...HPA_DEFAULTS.scaleDown, stabilizationWindowSeconds: 0 } }));
    expect(zero.decide(s(0), 0, 0).replicas).toBe(0);
    expect(zero.decide(s(15), 0, 3).replicas).toBe(1);
    expect(zero.decide(s(30), 1, 0).replicas).toBe(0);
    const frozen = new HpaAlgorithm(options({ scaleUp: { ...HPA_DEFAULTS.scaleUp, selectPolicy: 'Disabled' } }));
    expect(frozen.decide(s(0), 2, 1000).replicas).toBe(2);
  });

  it('rejects impossible bounds', () => {
    expect(() => new HpaAlgorithm(options({ minReplicas: 5, maxReplicas: 2 }))).toThrow(RangeError);
    expect(() => new HpaAlgorithm(options({ targetPerReplica: 0 }))).toThrow(RangeError);
  });
});
