import { useState } from 'preact/hooks';
import { readAgentCap } from '../api/agent-cap.js';
import { usePoll } from './use-poll.js';

/** Agents running across the cluster against DROVER_MAX_AGENTS (from /metrics). */
export function AgentCapMeter() {
  const [served, setServed] = useState(true);
  const { data, error } = usePoll(
    async () => {
      const cap = await readAgentCap();
      // Not on this port (DROVER_METRICS_PORT): stop asking every few seconds.
      if (cap === undefined) setServed(false);
      return cap;
    },
    served ? 5000 : 0,
    [],
  );
  if (error || data === undefined) {
    return (
      <span class="agent-cap muted" title="/metrics is not served on this port (DROVER_METRICS_PORT)">
        agents: n/a
      </span>
    );
  }
  const full = data.used >= data.limit;
  return (
    <span class={full ? 'agent-cap full' : 'agent-cap'} title="Tasks running cluster-wide / DROVER_MAX_AGENTS">
      agents: <strong data-testid="agents-used">{data.used}</strong> / <span data-testid="agents-limit">{data.limit}</span>
    </span>
  );
}
