import type { GraphStore, NeighbourOptions, Neighbourhood, NodeKey, NodeRef, Props, TaskNodeInput } from '@drover/graph';
import type { Logger, TaskRecord } from '@drover/shared';

/** What a task handler sees of the graph (ctx.graph): its tenant's graph, with this task as the default start. */
export interface TaskGraph {
  /** Upserts both nodes and the relation between them (linking twice gives one relation). */
  link(from: NodeRef, relation: string, to: NodeRef, props?: Props): Promise<void>;
  /** Records `(this task)-[:PRODUCED]->(:Artifact {id, kind, ...props})`. */
  produced(artifact: { id: string; kind: string; props?: Props }): Promise<void>;
  /** The neighbourhood of a node, this task's by default. */
  neighbours(ref?: NodeKey, options?: NeighbourOptions): Promise<Neighbourhood>;
  /** This task as a node reference, for link(). */
  readonly self: NodeKey;
}

export function taskGraph(store: () => Promise<GraphStore>, task: TaskRecord): TaskGraph {
  const self = { label: 'Task', id: task.id };
  return {
    self,
    async link(from, relation, to, props) {
      await (await store()).link(task.tenant, from, relation, to, props);
    },
    async produced(artifact) {
      await (await store()).link(task.tenant, self, 'PRODUCED', { label: 'Artifact', id: artifact.id, props: { kind: artifact.kind, ...artifact.props } });
    },
    async neighbours(ref = self, options) {
      return (await store()).neighbours(task.tenant, ref, options);
    },
  };
}

/**
 * Records task trees in the graph (Task nodes, SPAWNED and OF_TYPE relations) off the run's path:
 * records are buffered and written in batches (one UNWIND per tenant on Neo4j), and a failed write
 * is logged, never a task's failure. Only tasks that are part of a tree are recorded, so a plain
 * task costs nothing here.
 */
export class TaskTreeRecorder {
  private pending = new Map<string, Map<string, TaskNodeInput>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: () => Promise<GraphStore>,
    private readonly log: Logger,
    private readonly everyMs = 200,
    private readonly maxBatch = 500,
  ) {}

  record(task: TaskRecord, status: TaskNodeInput['status']): void {
    let byId = this.pending.get(task.tenant);
    if (!byId) {
      byId = new Map();
      this.pending.set(task.tenant, byId);
    }
    // The latest status of a task wins within a batch.
    byId.set(task.id, { id: task.id, type: task.type, status, ...(task.parentId ? { parentId: task.parentId } : {}), createdAt: task.createdAt });
    if (byId.size >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.everyMs);
  }

  /** Writes what is buffered; resolves when it (and any earlier flush) is written or has failed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      if (batch.size === 0) return;
      const store = await this.store();
      for (const [tenant, byId] of batch) {
        try {
          await store.recordTasks(tenant, [...byId.values()]);
        } catch (err) {
          this.log.warn({ err: (err as Error).message, tasks: byId.size }, 'task graph: recording task nodes failed');
        }
      }
    });
    return this.flushing;
  }
}
