import { DroverError, type Logger } from '@drover/shared';
import { CORE_LABELS, type CypherQuery, DEFAULT_ROWS_PER_QUERY, linkQueries, neighboursQuery, nodeKeyConstraintQuery, recordTasksQueries, schemaQueries } from './cypher.js';
import type { GraphEdge, GraphLink, GraphNode, GraphStore, NeighbourOptions, Neighbourhood, NodeKey, NodeRef, PropValue, Props, TaskNodeInput } from './graph-store.js';
import { validateLink, validateTask, validateTenant } from './graph-input.js';
import { type Neo4jConnectionOptions, type Neo4jDriverLike, type Neo4jRouting, createNeo4jDriver } from './neo4j-connection.js';

export interface Neo4jGraphStoreOptions {
  driver: Neo4jDriverLike;
  /** Default: the user's home database. */
  database?: string | undefined;
  logger?: Logger | undefined;
  /** Rows per UNWIND statement; default 1000. */
  rowsPerQuery?: number;
  /** Whether close() closes the driver; default true. */
  ownsDriver?: boolean;
}

export interface Neo4jGraphStoreConnectOptions extends Neo4jConnectionOptions {
  database?: string | undefined;
  logger?: Logger | undefined;
}

interface Neo4jNodeLike {
  labels: string[];
  properties: Record<string, unknown>;
  elementId: string;
}

interface Neo4jRelationshipLike {
  type: string;
  properties: Record<string, unknown>;
  startNodeElementId: string;
  endNodeElementId: string;
}

/** Neo4j error codes after which the same call may succeed: the server or cluster is away, not the request wrong. */
const UNAVAILABLE_CODES = new Set(['ServiceUnavailable', 'SessionExpired']);
/** Another replica created the same schema rule at the same moment: what we wanted exists. */
const SCHEMA_EXISTS_CODES = new Set(['Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists', 'Neo.ClientError.Schema.ConstraintAlreadyExists', 'Neo.ClientError.Schema.IndexAlreadyExists']);

/**
 * The graph in Neo4j (Community 5.x or later). Each statement comes from cypher.ts and runs
 * through the driver's executeQuery, which retries transient failures; that is safe because
 * every write is a MERGE. A batch is one statement per (from label, relation, to label) and
 * per 1000 rows, each its own transaction: a failed batch may be partly written, and
 * repeating it completes it.
 */
export class Neo4jGraphStore implements GraphStore {
  private readonly driver: Neo4jDriverLike;
  private readonly database: string | undefined;
  private readonly logger: Logger | undefined;
  private readonly rowsPerQuery: number;
  private readonly ownsDriver: boolean;
  /** Labels whose key constraint is known to exist; a handler's new label gets one on first use. */
  private readonly constrained = new Set<string>();
  private closed = false;

  constructor(options: Neo4jGraphStoreOptions) {
    this.driver = options.driver;
    this.database = options.database;
    this.logger = options.logger;
    this.rowsPerQuery = options.rowsPerQuery ?? DEFAULT_ROWS_PER_QUERY;
    this.ownsDriver = options.ownsDriver ?? true;
  }

  /** Opens a driver, creates the schema, and returns a ready store. */
  static async connect(options: Neo4jGraphStoreConnectOptions): Promise<Neo4jGraphStore> {
    const driver = await createNeo4jDriver(options);
    const store = new Neo4jGraphStore({ driver, database: options.database, logger: options.logger });
    try {
      await store.init();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /** Creates the constraints and indexes if missing; idempotent, so every replica may run it. */
  async init(): Promise<void> {
    for (const query of schemaQueries()) await this.runSchema(query);
    for (const name of CORE_LABELS) this.constrained.add(name);
    this.logger?.info({ database: this.database ?? '(home)' }, 'neo4j graph schema ready');
  }

  async recordTask(tenant: string, task: TaskNodeInput): Promise<void> {
    // Checked here as well so that errors name task.*, as the embedded store's do, not tasks[0].*.
    validateTenant(tenant);
    validateTask(task);
    await this.recordTasks(tenant, [task]);
  }

  async recordTasks(tenant: string, tasks: readonly TaskNodeInput[]): Promise<void> {
    this.open();
    // Built (and so validated) in full before the first statement runs.
    const queries = recordTasksQueries(tenant, tasks, this.rowsPerQuery);
    for (const query of queries) await this.run(query, 'WRITE');
  }

  async link(tenant: string, from: NodeRef, relation: string, to: NodeRef, props?: Props): Promise<void> {
    const link = props === undefined ? { from, relation, to } : { from, relation, to, props };
    validateTenant(tenant);
    validateLink(link);
    await this.linkMany(tenant, [link]);
  }

  async linkMany(tenant: string, links: readonly GraphLink[]): Promise<void> {
    this.open();
    const statements = linkQueries(tenant, links, this.rowsPerQuery);
    for (const statement of statements) {
      await this.constrain(statement.fromLabel);
      await this.constrain(statement.toLabel);
      await this.run(statement.query, 'WRITE');
    }
  }

  async neighbours(tenant: string, ref: NodeKey, options?: NeighbourOptions): Promise<Neighbourhood> {
    this.open();
    const { records } = await this.run(neighboursQuery(tenant, ref, options), 'READ');
    const record = records[0];
    if (record === undefined) return { nodes: [], edges: [] };
    const keys = new Map<string, NodeKey>();
    const nodes: GraphNode[] = [];
    for (const node of record.get('nodes') as Neo4jNodeLike[]) {
      const mapped = toGraphNode(node);
      keys.set(node.elementId, { label: mapped.label, id: mapped.id });
      nodes.push(mapped);
    }
    const edges: GraphEdge[] = [];
    for (const rel of record.get('edges') as Neo4jRelationshipLike[]) {
      const from = keys.get(rel.startNodeElementId);
      const to = keys.get(rel.endNodeElementId);
      if (from === undefined || to === undefined) continue;
      edges.push({ from, relation: rel.type, to, props: toProps(rel.properties) });
    }
    return { nodes, edges };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDriver) await this.driver.close();
  }

  private async constrain(name: string): Promise<void> {
    if (this.constrained.has(name)) return;
    await this.runSchema(nodeKeyConstraintQuery(name));
    this.constrained.add(name);
  }

  private async runSchema(query: CypherQuery): Promise<void> {
    try {
      await this.run(query, 'WRITE');
    } catch (err) {
      if (!SCHEMA_EXISTS_CODES.has(neo4jCode(err))) throw err;
    }
  }

  private async run(query: CypherQuery, routing: Neo4jRouting): ReturnType<Neo4jDriverLike['executeQuery']> {
    const config = this.database === undefined ? { routing } : { routing, database: this.database };
    try {
      return await this.driver.executeQuery(query.text, { ...query.params }, config);
    } catch (err) {
      const code = neo4jCode(err);
      if (UNAVAILABLE_CODES.has(code) || code.startsWith('Neo.TransientError.')) {
        throw new DroverError('BACKEND_UNAVAILABLE', `Neo4j is unavailable (${code}): check that the server at DROVER_NEO4J_URL is up; retry later`, { retryable: true, cause: err });
      }
      if (code === 'Neo.ClientError.Security.Unauthorized') {
        throw new DroverError('CONFIG', 'Neo4j refused the credentials: check DROVER_NEO4J_USER and DROVER_NEO4J_PASSWORD', { cause: err });
      }
      throw err;
    }
  }

  private open(): void {
    if (this.closed) throw new DroverError('SHUTTING_DOWN', 'the graph store is closed: create a new one with createGraphStore()');
  }
}

function neo4jCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function toGraphNode(node: Neo4jNodeLike): GraphNode {
  return { label: node.labels[0] ?? '', id: String(fromNeo4j(node.properties['id'])), props: toProps(node.properties) };
}

function toProps(properties: Record<string, unknown>): Props {
  const props: Props = {};
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'tenant' || key === 'id') continue;
    props[key] = fromNeo4j(value);
  }
  return props;
}

/** The store writes only strings, numbers and booleans; other values come from writes outside it. */
function fromNeo4j(value: unknown): PropValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  // A driver opened with lossless integers hands back neo4j Integer objects.
  if (typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as { toNumber(): number }).toNumber();
  return String(value);
}
