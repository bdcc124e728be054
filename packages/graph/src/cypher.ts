import {
  type ValidLink,
  type ValidTask,
  validateBatch,
  validateLabel,
  validateLink,
  validateNeighbourOptions,
  validateNodeKey,
  validateRelation,
  validateTask,
  validateTenant,
} from './graph-input.js';
import type { GraphLink, NeighbourOptions, NodeKey, TaskNodeInput } from './graph-store.js';

/*
 * Every Cypher statement the Neo4j backend sends is built here.
 *
 * Values (tenant, ids, property maps, task fields) travel only as parameters. Three things
 * cannot be parameters in Cypher and are written into the text, each checked first:
 *  - labels and relation types: validated against LABEL_PATTERN / RELATION_PATTERN (no
 *    backtick, space or bracket can pass), then quoted with backticks;
 *  - the depth of a variable-length pattern (`*1..N`): an integer validated to 1..3;
 *  - the LIMIT of a neighbourhood: an integer validated to 0..500 (a JavaScript number
 *    parameter would arrive as a float, which LIMIT refuses).
 * Nothing else is ever interpolated. Every node pattern that binds a new node carries
 * `tenant: $tenant`, so no statement can match or merge another tenant's node.
 */

export interface CypherQuery {
  readonly text: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** Links of one (from label, relation, to label) share a statement: those three are part of its text. */
export interface LinkStatement {
  readonly fromLabel: string;
  readonly relation: string;
  readonly toLabel: string;
  readonly query: CypherQuery;
}

/** Labels the store itself writes; each gets its key constraint when the store starts. */
export const CORE_LABELS = ['Task', 'Artifact', 'AgentType'] as const;

/** Rows per UNWIND: big enough to amortise a round trip, small enough for one transaction's memory. */
export const DEFAULT_ROWS_PER_QUERY = 1000;

function label(name: string, field?: string): string {
  return `\`${validateLabel(name, field)}\``;
}

function relation(name: string, field?: string): string {
  return `\`${validateRelation(name, field)}\``;
}

/**
 * (tenant, id) is unique per label. IS UNIQUE on a composite key is in Community 5.x (a NODE
 * KEY constraint would need Enterprise); it also gives MERGE an index and makes concurrent
 * MERGEs of one node safe. The constraint name is made from the validated label.
 */
export function nodeKeyConstraintQuery(nodeLabel: string): CypherQuery {
  const quoted = label(nodeLabel);
  return { text: `CREATE CONSTRAINT \`drover_${nodeLabel}_key\` IF NOT EXISTS FOR (n:${quoted}) REQUIRE (n.tenant, n.id) IS UNIQUE`, params: {} };
}

/** Idempotent schema for the store's own labels; run once at start. */
export function schemaQueries(): CypherQuery[] {
  return [
    ...CORE_LABELS.map((name) => nodeKeyConstraintQuery(name)),
    { text: 'CREATE INDEX `drover_AgentType_name` IF NOT EXISTS FOR (n:AgentType) ON (n.tenant, n.name)', params: {} },
    { text: 'CREATE INDEX `drover_Artifact_kind` IF NOT EXISTS FOR (n:Artifact) ON (n.tenant, n.kind)', params: {} },
    { text: 'CREATE INDEX `drover_Task_status` IF NOT EXISTS FOR (n:Task) ON (n.tenant, n.status)', params: {} },
  ];
}

const RECORD_TASKS = [
  'UNWIND $rows AS row',
  'MERGE (t:Task {tenant: $tenant, id: row.id})',
  'SET t.type = row.type, t.status = row.status, t.createdAt = coalesce(row.createdAt, t.createdAt)',
  'MERGE (a:AgentType {tenant: $tenant, id: row.type})',
  'SET a.name = row.type',
  'WITH t, a, row',
  // A task has one type: a re-recorded task whose type changed drops the old OF_TYPE relation.
  'OPTIONAL MATCH (t)-[stale:OF_TYPE]->(other:AgentType {tenant: $tenant})',
  'WHERE other <> a',
  'DELETE stale',
  'WITH DISTINCT t, a, row',
  'MERGE (t)-[:OF_TYPE]->(a)',
  'WITH t, row',
  'WHERE row.parentId IS NOT NULL',
  // The parent may not be recorded yet: MERGE leaves a stub that its own record fills in later.
  'MERGE (p:Task {tenant: $tenant, id: row.parentId})',
  'MERGE (p)-[:SPAWNED]->(t)',
].join('\n');

/** Upserts tasks with their AgentType and SPAWNED relations, `rowsPerQuery` tasks per statement. */
export function recordTasksQueries(tenant: string, tasks: readonly TaskNodeInput[], rowsPerQuery = DEFAULT_ROWS_PER_QUERY): CypherQuery[] {
  const validTenant = validateTenant(tenant);
  const rows = validateBatch<TaskNodeInput>(tasks, 'tasks').map((task, i) => taskRow(validateTask(task, `tasks[${i}]`)));
  return chunks(rows, rowsPerQuery).map((chunk) => ({ text: RECORD_TASKS, params: { tenant: validTenant, rows: chunk } }));
}

function taskRow(task: ValidTask): Record<string, unknown> {
  return { id: task.id, type: task.type, status: task.status, parentId: task.parentId, createdAt: task.createdAt };
}

/**
 * Upserts both nodes and the relation of each link (MERGE: linking twice leaves one relation).
 * A null property value removes that property, as `SET n += map` does.
 */
export function linkQueries(tenant: string, links: readonly GraphLink[], rowsPerQuery = DEFAULT_ROWS_PER_QUERY): LinkStatement[] {
  const validTenant = validateTenant(tenant);
  const valid = validateBatch<GraphLink>(links, 'links').map((link, i) => validateLink(link, `links[${i}]`));
  const groups = new Map<string, ValidLink[]>();
  for (const link of valid) {
    const key = `${link.from.label} ${link.relation} ${link.to.label}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [link]);
    else group.push(link);
  }
  const statements: LinkStatement[] = [];
  for (const group of groups.values()) {
    const { from, relation: type, to } = group[0]!;
    const text = [
      'UNWIND $rows AS row',
      `MERGE (a:${label(from.label)} {tenant: $tenant, id: row.fromId})`,
      'SET a += row.fromProps',
      `MERGE (b:${label(to.label)} {tenant: $tenant, id: row.toId})`,
      'SET b += row.toProps',
      `MERGE (a)-[r:${relation(type)}]->(b)`,
      'SET r += row.props',
    ].join('\n');
    for (const chunk of chunks(group.map(linkRow), rowsPerQuery)) {
      statements.push({ fromLabel: from.label, relation: type, toLabel: to.label, query: { text, params: { tenant: validTenant, rows: chunk } } });
    }
  }
  return statements;
}

function linkRow(link: ValidLink): Record<string, unknown> {
  return { fromId: link.from.id, fromProps: link.from.props, toId: link.to.id, toProps: link.to.props, props: link.props };
}

/**
 * The start node, the nodes within `depth` hops (nearest first, then by label and id, cut at
 * `limit`), and the followed relations among them: those leaving a node closer than `depth`.
 * Returns no row when the tenant has no such start node. Depth is at most 3 because a
 * variable-length match enumerates paths, whose number grows with the fan-out to that power.
 */
export function neighboursQuery(tenant: string, start: NodeKey, options?: NeighbourOptions): CypherQuery {
  const validTenant = validateTenant(tenant);
  const ref = validateNodeKey(start);
  const { depth, relation: type, direction, limit } = validateNeighbourOptions(options);
  const typed = type === null ? '' : `:${relation(type)}`;
  const hop = (inner: string): string => (direction === 'out' ? `-[${inner}]->` : direction === 'in' ? `<-[${inner}]-` : `-[${inner}]-`);
  const text = [
    `MATCH (s:${label(ref.label)} {tenant: $tenant, id: $id})`,
    `OPTIONAL MATCH p = (s)${hop(`${typed}*1..${depth}`)}(m {tenant: $tenant})`,
    'WHERE m <> s AND all(n IN nodes(p) WHERE n.tenant = $tenant)',
    'WITH s, m, min(length(p)) AS dist',
    'ORDER BY dist, labels(m)[0], m.id',
    `WITH s, collect(CASE WHEN m IS NULL THEN null ELSE {node: m, dist: dist} END)[..${limit}] AS hits`,
    'WITH [{node: s, dist: 0}] + hits AS found',
    'WITH found, [f IN found | f.node] AS ns',
    `UNWIND [f IN found WHERE f.dist < ${depth} | f.node] AS a`,
    `OPTIONAL MATCH (a)${hop(`r${typed}`)}(b {tenant: $tenant})`,
    'WHERE b IN ns',
    'WITH ns, collect(DISTINCT r) AS rels',
    'RETURN ns AS nodes, rels AS edges',
  ].join('\n');
  return { text, params: { tenant: validTenant, id: ref.id } };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`rowsPerQuery must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
