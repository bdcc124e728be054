import type { AgentCap } from './records.js';

/**
 * The cluster-wide agent cap: no /v1 route (and so no @drover/client call) exposes it, so it is
 * read from the orchestrator's Prometheus text, same origin, which needs no key. Undefined when
 * /metrics is not served on the API's port (DROVER_METRICS_PORT moves it) or lacks the lines.
 */
export async function readAgentCap(): Promise<AgentCap | undefined> {
  const res = await fetch('/metrics', { cache: 'no-store' });
  if (!res.ok) return undefined;
  return parseAgentCap(await res.text());
}

export function parseAgentCap(text: string): AgentCap | undefined {
  const used = sample(text, 'drover_agents_used');
  const limit = sample(text, 'drover_agents_limit');
  return used === undefined || limit === undefined ? undefined : { used, limit };
}

function sample(text: string, name: string): number | undefined {
  // `name{labels} value` or `name value`; the region label is on every series.
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}
