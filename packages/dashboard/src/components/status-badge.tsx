import type { TaskStatus } from '@drover/client';

export function StatusBadge({ status }: { status: TaskStatus }) {
  return <span class={`status status-${status}`}>{status}</span>;
}
