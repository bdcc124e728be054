import type { ValidNeighbourOptions } from './graph-input.js';
import type { Direction, GraphEdge, GraphNode, NodeKey, Neighbourhood, Props } from './graph-store.js';

interface StoredNode {
  label: string;
  id: string;
  props: Props;
}

interface StoredEdge {
  key: string;
  from: string;
  relation: string;
  to: string;
  props: Props;
}

export interface TenantGraphSnapshot {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Labels match [A-Z][A-Za-z0-9]*, so the first colon always ends the label: the key is unambiguous. */
export function nodeKey(label: string, id: string): string {
  return `${label}:${id}`;
}

function edgeKey(from: string, relation: string, to: string): string {
  return JSON.stringify([from, relation, to]);
}

/** Writes `props` into `target`; a null value removes the property, as `SET n += $props` does in Cypher. */
function mergeProps(target: Props, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (value === null) delete target[key];
    else target[key] = value;
  }
}

/**
 * One tenant's graph in memory: nodes by (label, id), relations by (from, type, to), and
 * adjacency lists both ways so a neighbourhood is a breadth-first walk of the edges it touches.
 * Inputs arrive validated; this class only stores.
 */
export class TenantGraph {
  private readonly nodes = new Map<string, StoredNode>();
  private readonly edges = new Map<string, StoredEdge>();
  private readonly outgoing = new Map<string, Set<string>>();
  private readonly incoming = new Map<string, Set<string>>();

  upsertNode(label: string, id: string, props: Props = {}): string {
    const key = nodeKey(label, id);
    let node = this.nodes.get(key);
    if (node === undefined) {
      node = { label, id, props: {} };
      this.nodes.set(key, node);
    }
    mergeProps(node.props, props);
    return key;
  }

  upsertEdge(from: string, relation: string, to: string, props: Props = {}): void {
    const key = edgeKey(from, relation, to);
    let edge = this.edges.get(key);
    if (edge === undefined) {
      edge = { key, from, relation, to, props: {} };
      this.edges.set(key, edge);
      this.adjacency(this.outgoing, from).add(key);
      this.adjacency(this.incoming, to).add(key);
    }
    mergeProps(edge.props, props);
  }

  /** Removes `from`'s outgoing relations of one type except the one to `keep`. */
  removeOutgoingExcept(from: string, relation: string, keep: string): void {
    for (const key of [...(this.outgoing.get(from) ?? [])]) {
      const edge = this.edges.get(key)!;
      if (edge.relation !== relation || edge.to === keep) continue;
      this.edges.delete(key);
      this.outgoing.get(from)?.delete(key);
      this.incoming.get(edge.to)?.delete(key);
    }
  }

  neighbourhood(start: NodeKey, options: ValidNeighbourOptions): Neighbourhood {
    const startKey = nodeKey(start.label, start.id);
    if (!this.nodes.has(startKey)) return { nodes: [], edges: [] };
    const distance = new Map<string, number>([[startKey, 0]]);
    let frontier = [startKey];
    for (let hop = 1; hop <= options.depth && frontier.length > 0; hop++) {
      const next: string[] = [];
      for (const key of frontier) {
        for (const edge of this.followed(key, options)) {
          const other = edge.from === key ? edge.to : edge.from;
          if (!distance.has(other)) {
            distance.set(other, hop);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    // Nearest first, then by label and id, so a limit cuts the same nodes as the Neo4j backend's ORDER BY.
    const reached = [...distance.keys()]
      .filter((key) => key !== startKey)
      .map((key) => ({ key, node: this.nodes.get(key)!, hops: distance.get(key)! }))
      .sort((a, b) => a.hops - b.hops || compare(a.node.label, b.node.label) || compare(a.node.id, b.node.id))
      .slice(0, options.limit);
    const selected = new Set([startKey, ...reached.map((r) => r.key)]);
    // A relation was followed if it leaves a node closer than `depth` in the walk's direction.
    const edges = new Map<string, StoredEdge>();
    for (const key of selected) {
      if (distance.get(key)! >= options.depth) continue;
      for (const edge of this.followed(key, options)) {
        const other = edge.from === key ? edge.to : edge.from;
        if (selected.has(other)) edges.set(edge.key, edge);
      }
    }
    return {
      nodes: [...selected].map((key) => this.exportNode(this.nodes.get(key)!)),
      edges: [...edges.values()].map((edge) => this.exportEdge(edge)),
    };
  }

  snapshot(): TenantGraphSnapshot {
    return {
      nodes: [...this.nodes.values()].map((node) => this.exportNode(node)),
      edges: [...this.edges.values()].map((edge) => this.exportEdge(edge)),
    };
  }

  restore(snapshot: TenantGraphSnapshot): void {
    for (const node of snapshot.nodes) this.upsertNode(node.label, node.id, node.props);
    for (const edge of snapshot.edges) {
      this.upsertEdge(nodeKey(edge.from.label, edge.from.id), edge.relation, nodeKey(edge.to.label, edge.to.id), edge.props);
    }
  }

  private *followed(key: string, options: { relation: string | null; direction: Direction }): Iterable<StoredEdge> {
    if (options.direction !== 'in') yield* this.matching(this.outgoing.get(key), options.relation);
    if (options.direction !== 'out') yield* this.matching(this.incoming.get(key), options.relation);
  }

  private *matching(keys: Set<string> | undefined, relation: string | null): Iterable<StoredEdge> {
    for (const key of keys ?? []) {
      const edge = this.edges.get(key)!;
      if (relation === null || edge.relation === relation) yield edge;
    }
  }

  private adjacency(index: Map<string, Set<string>>, key: string): Set<string> {
    let set = index.get(key);
    if (set === undefined) {
      set = new Set();
      index.set(key, set);
    }
    return set;
  }

  private exportNode(node: StoredNode): GraphNode {
    return { label: node.label, id: node.id, props: { ...node.props } };
  }

  private exportEdge(edge: StoredEdge): GraphEdge {
    const from = this.nodes.get(edge.from)!;
    const to = this.nodes.get(edge.to)!;
    return { from: { label: from.label, id: from.id }, relation: edge.relation, to: { label: to.label, id: to.id }, props: { ...edge.props } };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
