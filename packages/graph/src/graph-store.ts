import type { TaskStatus } from '@drover/shared';

/** Values a node or relation property may hold; `null` removes the property on write. */
export type PropValue = string | number | boolean | null;
export type Props = Record<string, PropValue>;

/** Identifies a node within one tenant: a label and an id unique for that label. */
export interface NodeKey {
  label: string;
  id: string;
}

/** A node to upsert: its key and the properties to merge into it. */
export interface NodeRef extends NodeKey {
  props?: Props;
}

export interface TaskNodeInput {
  id: string;
  /** The task type's name; the task gets an OF_TYPE relation to `(:AgentType {name: type})`. */
  type: string;
  status: TaskStatus;
  /** When set, the parent gets a SPAWNED relation to this task (created as a stub if absent). */
  parentId?: string | undefined;
  /** ISO 8601, as in TaskRecord.createdAt; a later record without it keeps the stored one. */
  createdAt?: string | undefined;
}

export interface GraphLink {
  from: NodeRef;
  relation: string;
  to: NodeRef;
  /** Merged into the relation's properties. */
  props?: Props;
}

export type Direction = 'out' | 'in' | 'both';

export interface NeighbourOptions {
  /** Hops from the start node, 1 to 3; default 1. */
  depth?: number;
  /** Follow (and return) only relations of this type. */
  relation?: string;
  /** Which way relations are followed from the start node; default 'both'. */
  direction?: Direction;
  /** Most nodes returned besides the start node, nearest first (0 to 500); default 100. */
  limit?: number;
}

export interface GraphNode {
  label: string;
  id: string;
  /** Every property but `tenant` and `id`. */
  props: Props;
}

export interface GraphEdge {
  from: NodeKey;
  relation: string;
  to: NodeKey;
  props: Props;
}

/** A neighbourhood: the start node first, then the nodes reached, and the relations among them that were followed. */
export interface Neighbourhood {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/**
 * The task and knowledge graph. Every call is scoped to one tenant: a tenant never reads,
 * matches or links another tenant's nodes, even under the same label and id.
 * Writes have merge semantics, so a retried call (at-least-once delivery) changes nothing.
 */
export interface GraphStore {
  /** Upserts the Task node, its OF_TYPE AgentType node and the parent's SPAWNED relation. */
  recordTask(tenant: string, task: TaskNodeInput): Promise<void>;
  recordTasks(tenant: string, tasks: readonly TaskNodeInput[]): Promise<void>;
  /** Upserts both nodes and one relation between them: linking twice gives one relation. */
  link(tenant: string, from: NodeRef, relation: string, to: NodeRef, props?: Props): Promise<void>;
  linkMany(tenant: string, links: readonly GraphLink[]): Promise<void>;
  /** The start node's neighbourhood; empty when the tenant has no such node. */
  neighbours(tenant: string, ref: NodeKey, options?: NeighbourOptions): Promise<Neighbourhood>;
  close(): Promise<void>;
}
