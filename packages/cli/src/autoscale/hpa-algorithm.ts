/**
 * The Kubernetes HorizontalPodAutoscaler's algorithm (autoscaling/v2), for an External metric
 * with an AverageValue target, which is how Drover's backlog drives the HPA: desired replicas =
 * ceil(total backlog / target per replica), left alone within the tolerance, smoothed by the
 * stabilisation windows, limited by the scale-up and scale-down policies, clamped to [min, max].
 * Pure: the caller passes the clock, so tests replay any timeline.
 */

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: ScalingPolicy[];
}

export interface HpaOptions {
  minReplicas: number;
  maxReplicas: number;
  /** Backlog each replica should carry (the HPA's averageValue). */
  targetPerReplica: number;
  /** The HPA's --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The HPA's defaults (kubernetes.io, "Default Behavior"). */
export const HPA_DEFAULTS: Omit<HpaOptions, 'minReplicas' | 'maxReplicas' | 'targetPerReplica'> = {
  tolerance: 0.1,
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Percent', value: 100, periodSeconds: 15 },
      { type: 'Pods', value: 4, periodSeconds: 15 },
    ],
  },
  scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
};

export interface Decision {
  /** The replica count to apply. */
  replicas: number;
  /** What the metric alone asks for, before stabilisation and policies. */
  raw: number;
  reason: string;
}

export class HpaAlgorithm {
  private readonly recommendations: Array<{ at: number; replicas: number }> = [];
  private readonly events: Array<{ at: number; change: number }> = [];

  constructor(readonly options: HpaOptions) {
    const o = options;
    if (!(o.minReplicas >= 0 && o.maxReplicas >= Math.max(1, o.minReplicas))) throw new RangeError('need 0 <= minReplicas <= maxReplicas, maxReplicas >= 1');
    if (!(o.targetPerReplica > 0)) throw new RangeError('targetPerReplica must be > 0');
  }

  /** One sync: `current` replicas now, `total` the metric's value (the queue's backlog). */
  decide(now: number, current: number, total: number): Decision {
    const o = this.options;
    let raw: number;
    let reason: string;
    if (current === 0) {
      raw = Math.ceil(total / o.targetPerReplica);
      reason = 'no replicas: scale from zero';
    } else {
      const ratio = total / (current * o.targetPerReplica);
      if (Math.abs(ratio - 1) <= o.tolerance) {
        raw = current;
        reason = `within tolerance (${ratio.toFixed(2)})`;
      } else {
        raw = Math.ceil(total / o.targetPerReplica);
        reason = `backlog ${total} / target ${o.targetPerReplica}`;
      }
    }
    raw = clamp(raw, o.minReplicas, o.maxReplicas);
    const stabilized = this.stabilize(now, current, raw);
    let replicas = this.limitByPolicies(now, current, stabilized);
    replicas = clamp(replicas, o.minReplicas, o.maxReplicas);
    if (replicas !== stabilized) reason += `; limited by policy to ${replicas}`;
    else if (stabilized !== raw) reason += `; stabilised at ${stabilized}`;
    if (replicas !== current) this.events.push({ at: now, change: replicas - current });
    const longest = Math.max(0, ...[...o.scaleUp.policies, ...o.scaleDown.policies].map((p) => p.periodSeconds)) * 1000;
    while (this.events.length > 0 && this.events[0]!.at <= now - longest) this.events.shift();
    return { replicas, raw, reason };
  }

  /** The HPA's stabilizeRecommendationWithBehaviors. */
  private stabilize(now: number, current: number, raw: number): number {
    const { scaleUp, scaleDown } = this.options;
    this.recommendations.push({ at: now, replicas: raw });
    const upCutoff = now - scaleUp.stabilizationWindowSeconds * 1000;
    const downCutoff = now - scaleDown.stabilizationWindowSeconds * 1000;
    const keepAfter = Math.min(upCutoff, downCutoff);
    while (this.recommendations.length > 0 && this.recommendations[0]!.at < keepAfter) this.recommendations.shift();
    let up = raw;
    let down = raw;
    for (const r of this.recommendations) {
      if (r.at > upCutoff) up = Math.min(up, r.replicas);
      if (r.at > downCutoff) down = Math.max(down, r.replicas);
    }
    let out = current;
    if (out < up) out = up;
    if (out > down) out = down;
    return out;
  }

  /** The HPA's convertDesiredReplicasWithBehaviorRate. */
  private limitByPolicies(now: number, current: number, desired: number): number {
    const { scaleUp, scaleDown } = this.options;
    if (desired > current) {
      if (scaleUp.selectPolicy === 'Disabled') return current;
      const limits = scaleUp.policies.map((p) => {
        const start = current - this.changeSince(now - p.periodSeconds * 1000, 1);
        return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      });
      const limit = limits.length === 0 ? desired : scaleUp.selectPolicy === 'Max' ? Math.max(...limits) : Math.min(...limits);
      return Math.min(desired, Math.max(limit, current));
    }
    if (desired < current) {
      if (scaleDown.selectPolicy === 'Disabled') return current;
      const limits = scaleDown.policies.map((p) => {
        const start = current + this.changeSince(now - p.periodSeconds * 1000, -1);
        return p.type === 'Pods' ? start - p.value : Math.floor(start * (1 - p.value / 100));
      });
      const limit = limits.length === 0 ? desired : scaleDown.selectPolicy === 'Max' ? Math.min(...limits) : Math.max(...limits);
      return Math.max(desired, Math.min(limit, current));
    }
    return current;
  }

  /** Replicas added (sign 1) or removed (sign -1) by events since `since`, as a positive count. */
  private changeSince(since: number, sign: 1 | -1): number {
    let n = 0;
    for (const e of this.events) if (e.at > since && Math.sign(e.change) === sign) n += Math.abs(e.change);
    return n;
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
