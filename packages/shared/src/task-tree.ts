import type { Backend } from './backend.js';
import type { TaskRecord, TaskStatus } from './task.js';

/** A task tree as GET /v1/tasks/:id/tree shows it. */
export interface TaskTreeNode {
  id: string;
  type: string;
  queue: string;
  status: TaskStatus;
  attempt: number;
  error: TaskRecord['error'];
  children: TaskTreeNode[];
}

/** Largest tree read or canceled in one call; deeper or wider parts are cut (and said so). */
export const MAX_TREE_NODES = 10_000;

/**
 * The whole tree under `root`, breadth first, one level's reads at a time. Children whose
 * records expired are left out. `truncated` is true when the tree had more than `maxNodes`.
 */
export async function readTree(backend: Pick<Backend, 'get'>, root: TaskRecord, maxNodes = MAX_TREE_NODES): Promise<{ tree: TaskTreeNode; size: number; truncated: boolean }> {
  const tree = nodeOf(root);
  let level: Array<{ record: TaskRecord; node: TaskTreeNode }> = [{ record: root, node: tree }];
  let size = 1;
  let truncated = false;
  while (level.length > 0) {
    const next: typeof level = [];
    const wanted = level.flatMap(({ record, node }) => record.children.map((id) => ({ id, node })));
    if (size + wanted.length > maxNodes) {
      truncated = true;
      wanted.length = Math.max(0, maxNodes - size);
    }
    const records = await Promise.all(wanted.map(({ id }) => backend.get(id)));
    records.forEach((record, i) => {
      if (!record) return;
      const node = nodeOf(record);
      wanted[i]!.node.children.push(node);
      next.push({ record, node });
      size++;
    });
    level = next;
  }
  return { tree, size, truncated };
}

/**
 * Cancels a task and every descendant, parents before children: a parent canceled first cannot
 * spawn more while its children are being canceled. Returns the root's record after the call.
 */
export async function cancelTree(backend: Pick<Backend, 'get' | 'cancel'>, id: string, maxNodes = MAX_TREE_NODES): Promise<TaskRecord | null> {
  const root = await backend.cancel(id);
  if (!root) return null;
  let level = [root];
  let seen = 1;
  while (level.length > 0 && seen < maxNodes) {
    const ids = level.flatMap((r) => r.children).slice(0, maxNodes - seen);
    seen += ids.length;
    const canceled = await Promise.all(ids.map((child) => backend.cancel(child)));
    level = canceled.filter((r): r is TaskRecord => r !== null);
  }
  return (await backend.get(id)) ?? root;
}

function nodeOf(r: TaskRecord): TaskTreeNode {
  return { id: r.id, type: r.type, queue: r.queue, status: r.status, attempt: r.attempt, error: r.error, children: [] };
}
