import { DroverError, type Logger } from '@drover/shared';
import { GraphFile, type GraphFileSnapshot } from './graph-file.js';
import {
  type ValidLink,
  type ValidTask,
  validateBatch,
  validateLink,
  validateNeighbourOptions,
  validateNodeKey,
  validateTask,
  validateTenant,
} from './graph-input.js';
import type { GraphLink, GraphStore, NeighbourOptions, Neighbourhood, NodeKey, NodeRef, Props, TaskNodeInput } from './graph-store.js';
import { TenantGraph } from './tenant-graph.js';

export interface EmbeddedGraphStoreOptions {
  /** Keep the graph in `<dataDir>/graph.json`; without it the graph lives and dies with the process. */
  dataDir?: string | undefined;
  /** Write-behind delay for the file; default 200 ms. */
  flushDelayMs?: number;
  logger?: Logger | undefined;
}

/**
 * The graph in process memory, one TenantGraph per tenant, so no lookup can cross tenants.
 * The default when no Neo4j URL is configured; call init() before use when a dataDir is set.
 */
export class EmbeddedGraphStore implements GraphStore {
  private readonly tenants = new Map<string, TenantGraph>();
  private readonly file: GraphFile | undefined;
  private closed = false;

  constructor(options: EmbeddedGraphStoreOptions = {}) {
    this.file =
      options.dataDir === undefined
        ? undefined
        : new GraphFile({ dataDir: options.dataDir, flushDelayMs: options.flushDelayMs, logger: options.logger }, () => this.snapshot());
  }

  /** Loads the graph file, if there is one. */
  async init(): Promise<void> {
    const snapshot = await this.file?.load();
    if (snapshot === undefined) return;
    for (const [tenant, graph] of Object.entries(snapshot.tenants)) this.graph(tenant).restore(graph);
  }

  async recordTask(tenant: string, task: TaskNodeInput): Promise<void> {
    this.open();
    this.applyTasks(validateTenant(tenant), [validateTask(task)]);
  }

  async recordTasks(tenant: string, tasks: readonly TaskNodeInput[]): Promise<void> {
    this.open();
    const valid = validateTenant(tenant);
    // Validate the whole batch first: a bad item rejects the call without a partial write.
    const rows = validateBatch<TaskNodeInput>(tasks, 'tasks').map((task, i) => validateTask(task, `tasks[${i}]`));
    this.applyTasks(valid, rows);
  }

  async link(tenant: string, from: NodeRef, relation: string, to: NodeRef, props?: Props): Promise<void> {
    this.open();
    this.applyLinks(validateTenant(tenant), [validateLink({ from, relation, to, props })]);
  }

  async linkMany(tenant: string, links: readonly GraphLink[]): Promise<void> {
    this.open();
    const valid = validateTenant(tenant);
    const rows = validateBatch<GraphLink>(links, 'links').map((link, i) => validateLink(link, `links[${i}]`));
    this.applyLinks(valid, rows);
  }

  async neighbours(tenant: string, ref: NodeKey, options?: NeighbourOptions): Promise<Neighbourhood> {
    this.open();
    const valid = validateTenant(tenant);
    const start = validateNodeKey(ref);
    const opts = validateNeighbourOptions(options);
    return this.tenants.get(valid)?.neighbourhood(start, opts) ?? { nodes: [], edges: [] };
  }

  /** Writes pending changes to the graph file now. */
  async flush(): Promise<void> {
    await this.file?.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file?.flush();
  }

  private applyTasks(tenant: string, tasks: readonly ValidTask[]): void {
    if (tasks.length === 0) return;
    const graph = this.graph(tenant);
    for (const task of tasks) {
      const props: Props = { type: task.type, status: task.status };
      if (task.createdAt !== null) props['createdAt'] = task.createdAt;
      const key = graph.upsertNode('Task', task.id, props);
      // AgentType nodes are keyed by name; id carries the same value so every node has a NodeKey.
      const type = graph.upsertNode('AgentType', task.type, { name: task.type });
      graph.removeOutgoingExcept(key, 'OF_TYPE', type);
      graph.upsertEdge(key, 'OF_TYPE', type);
      if (task.parentId !== null) graph.upsertEdge(graph.upsertNode('Task', task.parentId), 'SPAWNED', key);
    }
    this.file?.changed();
  }

  private applyLinks(tenant: string, links: readonly ValidLink[]): void {
    if (links.length === 0) return;
    const graph = this.graph(tenant);
    for (const link of links) {
      const from = graph.upsertNode(link.from.label, link.from.id, link.from.props);
      const to = graph.upsertNode(link.to.label, link.to.id, link.to.props);
      graph.upsertEdge(from, link.relation, to, link.props);
    }
    this.file?.changed();
  }

  private graph(tenant: string): TenantGraph {
    let graph = this.tenants.get(tenant);
    if (graph === undefined) {
      graph = new TenantGraph();
      this.tenants.set(tenant, graph);
    }
    return graph;
  }

  private snapshot(): GraphFileSnapshot {
    // fromEntries defines own properties, so even a tenant named __proto__ is stored as data.
    return { version: 1, tenants: Object.fromEntries([...this.tenants].map(([tenant, graph]) => [tenant, graph.snapshot()])) };
  }

  private open(): void {
    if (this.closed) throw new DroverError('SHUTTING_DOWN', 'the graph store is closed: create a new one with createGraphStore()');
  }
}
