import type { TaskStatus } from '@drover/client';

// The statuses a filter offers, in the order a task goes through them.
export const TASK_STATUSES: readonly TaskStatus[] = ['queued', 'delayed', 'waiting', 'running', 'succeeded', 'failed', 'canceled'];

/** DROVER_MAX_AGENTS and the permits in use, as /metrics exports them. */
export interface AgentCap {
  used: number;
  limit: number;
}
