import { EmbeddedGraphStore, type GraphStore } from '@drover/graph';
import { type ForgetSelector, type MemoryItem, type MemoryStore, type RecallHit, type RecallOptions, createMemoryStore } from '@drover/memory';
import type { Logger, TaskRecord } from '@drover/shared';
import { TaskTreeRecorder } from './task-graph.js';

/** What a task handler sees of vector memory (ctx.memory): its tenant's collections only. */
export interface TaskMemory {
  /** Upserts items (id, and text or a vector, and a payload); text is embedded by the configured embedder. */
  remember(collection: string, items: MemoryItem[]): Promise<number>;
  /** The `k` items nearest to `query` (a text or a vector), best first, optionally filtered by payload. */
  recall(collection: string, query: string | number[], options?: Omit<RecallOptions, 'signal'>): Promise<RecallHit[]>;
  /** Removes items by id, or every item whose payload matches a filter; answers how many went. */
  forget(collection: string, selector: ForgetSelector): Promise<number>;
}

export function taskMemory(store: () => MemoryStore, task: TaskRecord, signal: AbortSignal): TaskMemory {
  return {
    remember: (collection, items) => store().remember(task.tenant, collection, items, { signal }),
    recall: (collection, query, options = {}) => store().recall(task.tenant, collection, query, { ...options, signal }),
    forget: (collection, selector) => store().forget(task.tenant, collection, selector),
  };
}

/**
 * The worker's memory stores: the ones it was given (from DROVER_QDRANT_URL / DROVER_NEO4J_URL, or
 * shared with an embedded orchestrator), else embedded ones made on first use, so a worker whose
 * tasks never touch memory opens nothing. It closes only what it made.
 */
export class AgentStores {
  private memoryStore: MemoryStore | undefined;
  private graphStore: Promise<GraphStore> | undefined;
  private readonly owned: Array<{ close(): Promise<void> }> = [];
  readonly recorder: TaskTreeRecorder;

  constructor(options: { memory?: MemoryStore | undefined; graph?: GraphStore | undefined; logger: Logger }) {
    this.memoryStore = options.memory;
    this.graphStore = options.graph ? Promise.resolve(options.graph) : undefined;
    this.recorder = new TaskTreeRecorder(() => this.graph(), options.logger);
  }

  memory(): MemoryStore {
    if (!this.memoryStore) {
      this.memoryStore = createMemoryStore({});
      this.owned.push(this.memoryStore);
    }
    return this.memoryStore;
  }

  graph(): Promise<GraphStore> {
    if (!this.graphStore) {
      const store = new EmbeddedGraphStore();
      this.owned.push(store);
      this.graphStore = store.init().then(() => store);
    }
    return this.graphStore;
  }

  async close(): Promise<void> {
    await this.recorder.flush();
    await Promise.all(this.owned.splice(0).map((s) => s.close()));
  }
}
