import { afterAll, describe, expect, it } from 'vitest';
import {
  type CypherQuery,
  GraphInputError,
  type Neo4jDriverLike,
  Neo4jGraphStore,
  type Neo4jQueryConfig,
  createGraphStore,
  createNeo4jDriver,
  linkQueries,
  neighboursQuery,
  nodeKeyConstraintQuery,
  recordTasksQueries,
  schemaQueries,
} from '../src/index.js';
import { graphStoreConformance } from './conformance/graph-store-conformance.js';

// The driver is a dependency of this package: the wiring tests always run with its own classes.
const neo4j: any = await import('neo4j-driver');

const url = process.env['DROVER_TEST_NEO4J_URL'];
const user = process.env['DROVER_TEST_NEO4J_USER'];
const password = process.env['DROVER_TEST_NEO4J_PASSWORD'];

// No Neo4j server can run on the machines CI uses: this suite runs where one is given, and
// docs/memory.md says which paths were run live.
describe.skipIf(url === undefined)('Neo4jGraphStore against a real server (DROVER_TEST_NEO4J_URL)', () => {
  let cleaner: Neo4jDriverLike | undefined;
  afterAll(async () => cleaner?.close());

  graphStoreConformance('neo4j', {
    open: () => Neo4jGraphStore.connect({ url: url!, user, password }),
    dropTenant: async (tenant) => {
      cleaner ??= await createNeo4jDriver({ url: url!, user, password });
      await cleaner.executeQuery('MATCH (n {tenant: $tenant}) DETACH DELETE n', { tenant }, { routing: 'WRITE' });
    },
  });
});

/*
 * No Neo4j server exists or can be installed on this machine, so the wiring below runs
 * against a recording stand-in for the one driver method the store calls (executeQuery).
 * It checks what a fake honestly can: that the store sends exactly the builders' statements
 * with the right routing and database, in the right order, and that it maps answers made of
 * neo4j-driver's own Record, Node, Relationship and Integer classes into the contract's shape.
 * Whether Neo4j runs the statements as intended is the job of the real-server suite above.
 */
interface Call {
  text: string;
  params: Record<string, unknown>;
  config: Neo4jQueryConfig;
}

class RecordingDriver implements Neo4jDriverLike {
  readonly calls: Call[] = [];
  readonly replies: Array<unknown> = [];
  closed = 0;

  async executeQuery(text: string, params: Record<string, unknown>, config: Neo4jQueryConfig): Promise<{ records: any[] }> {
    this.calls.push({ text, params, config });
    const reply = this.replies.shift();
    if (reply instanceof Error) throw reply;
    return (reply as { records: any[] } | undefined) ?? new neo4j.EagerResult([], [], new neo4j.ResultSummary(text, params, {}));
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

const sent = (q: CypherQuery) => ({ text: q.text, params: q.params });
const call = (c: Call) => ({ text: c.text, params: c.params });

describe('Neo4jGraphStore wiring (neo4j-driver classes, no server)', () => {
  const started = async (options: { rowsPerQuery?: number; database?: string } = {}) => {
    const driver = new RecordingDriver();
    const store = new Neo4jGraphStore({ driver, database: options.database ?? 'graphdb', rowsPerQuery: options.rowsPerQuery });
    await store.init();
    return { driver, store };
  };

  it('creates the schema at init, as writes to the configured database', async () => {
    const { driver } = await started();
    expect(driver.calls.map(call)).toEqual(schemaQueries().map(sent));
    expect(driver.calls.every((c) => c.config.routing === 'WRITE' && c.config.database === 'graphdb')).toBe(true);
  });

  it('tolerates a schema rule another replica created at the same moment, and nothing else', async () => {
    const driver = new RecordingDriver();
    driver.replies.push(new neo4j.Neo4jError('equivalent rule exists', 'Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists', '50N00', 'error'));
    await new Neo4jGraphStore({ driver }).init();
    expect(driver.calls).toHaveLength(schemaQueries().length);
    // Without a database the driver's home database is used: no database key at all.
    expect(driver.calls[0]!.config).toEqual({ routing: 'WRITE' });

    const failing = new RecordingDriver();
    failing.replies.push(new neo4j.Neo4jError('syntax', 'Neo.ClientError.Statement.SyntaxError', '42000', 'error'));
    await expect(new Neo4jGraphStore({ driver: failing }).init()).rejects.toMatchObject({ code: 'Neo.ClientError.Statement.SyntaxError' });
  });

  it('sends the recordTasks statements, chunked', async () => {
    const { driver, store } = await started({ rowsPerQuery: 2 });
    driver.calls.length = 0;
    const tasks = Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, type: 'scrape', status: 'queued' as const, parentId: i === 0 ? undefined : 't0' }));
    await store.recordTasks('acme', tasks);
    expect(driver.calls.map(call)).toEqual(recordTasksQueries('acme', tasks, 2).map(sent));
    expect(driver.calls).toHaveLength(3);
    expect(driver.calls.every((c) => c.config.routing === 'WRITE')).toBe(true);
  });

  it("sends one statement per link group, creating a handler label's constraint once, before its first write", async () => {
    const { driver, store } = await started();
    driver.calls.length = 0;
    const links = [
      { from: { label: 'Task', id: 't' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'a' } },
      { from: { label: 'Artifact', id: 'a' }, relation: 'MENTIONS', to: { label: 'Entity', id: 'e', props: { name: 'Acme' } } },
    ];
    await store.linkMany('acme', links);
    const [first, second] = linkQueries('acme', links).map((s) => sent(s.query));
    expect(driver.calls.map(call)).toEqual([first, sent(nodeKeyConstraintQuery('Entity')), second]);

    driver.calls.length = 0;
    await store.link('acme', { label: 'Entity', id: 'e' }, 'SAME_AS', { label: 'Entity', id: 'e2' });
    expect(driver.calls.map(call)).toEqual(linkQueries('acme', [{ from: { label: 'Entity', id: 'e' }, relation: 'SAME_AS', to: { label: 'Entity', id: 'e2' } }]).map((s) => sent(s.query)));
  });

  it('sends nothing for input the builders refuse', async () => {
    const { driver, store } = await started();
    driver.calls.length = 0;
    await expect(store.link('acme', { label: 'Task) DETACH DELETE n //', id: 'x' }, 'R', { label: 'Task', id: 'y' })).rejects.toBeInstanceOf(GraphInputError);
    await expect(store.neighbours('acme', { label: 'Task', id: 'x' }, { depth: 4 })).rejects.toMatchObject({ details: { field: 'depth' } });
    await expect(store.recordTask('acme', { id: 'x', type: 'k', status: 'queued', parentId: '' })).rejects.toMatchObject({ details: { field: 'task.parentId' } });
    expect(driver.calls).toEqual([]);
  });

  it("maps the driver's Node and Relationship records into the contract's shape", async () => {
    const { driver, store } = await started();
    const root = new neo4j.Node(neo4j.int(1), ['Task'], { tenant: 'acme', id: 'r', type: 'plan', status: 'running', tries: neo4j.int(3) }, '4:x:1');
    const kid = new neo4j.Node(neo4j.int(2), ['Task'], { tenant: 'acme', id: 'k', type: 'scrape', status: 'queued' }, '4:x:2');
    const doc = new neo4j.Node(neo4j.int(3), ['Artifact'], { tenant: 'acme', id: 'd', kind: 'html', bytes: 12.5, cached: false }, '4:x:3');
    const spawned = new neo4j.Relationship(neo4j.int(10), neo4j.int(1), neo4j.int(2), 'SPAWNED', {}, '5:x:10', '4:x:1', '4:x:2');
    const produced = new neo4j.Relationship(neo4j.int(11), neo4j.int(2), neo4j.int(3), 'PRODUCED', { step: neo4j.int(2), note: 'n' }, '5:x:11', '4:x:2', '4:x:3');
    const record = new neo4j.Record(['nodes', 'edges'], [[root, kid, doc], [spawned, produced]]);
    driver.replies.push(new neo4j.EagerResult(['nodes', 'edges'], [record], new neo4j.ResultSummary('', {}, {})));
    driver.calls.length = 0;

    const n = await store.neighbours('acme', { label: 'Task', id: 'r' }, { depth: 2, direction: 'out', limit: 10 });

    expect(driver.calls.map(call)).toEqual([sent(neighboursQuery('acme', { label: 'Task', id: 'r' }, { depth: 2, direction: 'out', limit: 10 }))]);
    expect(driver.calls[0]!.config).toEqual({ routing: 'READ', database: 'graphdb' });
    expect(n).toEqual({
      nodes: [
        { label: 'Task', id: 'r', props: { type: 'plan', status: 'running', tries: 3 } },
        { label: 'Task', id: 'k', props: { type: 'scrape', status: 'queued' } },
        { label: 'Artifact', id: 'd', props: { kind: 'html', bytes: 12.5, cached: false } },
      ],
      edges: [
        { from: { label: 'Task', id: 'r' }, relation: 'SPAWNED', to: { label: 'Task', id: 'k' }, props: {} },
        { from: { label: 'Task', id: 'k' }, relation: 'PRODUCED', to: { label: 'Artifact', id: 'd' }, props: { step: 2, note: 'n' } },
      ],
    });
  });

  it('answers an empty neighbourhood when the start node matched no row', async () => {
    const { store } = await started();
    expect(await store.neighbours('acme', { label: 'Task', id: 'nope' })).toEqual({ nodes: [], edges: [] });
  });

  it('turns an unreachable server into a retryable BACKEND_UNAVAILABLE and passes other errors through', async () => {
    const { driver, store } = await started();
    driver.replies.push(new neo4j.Neo4jError('no server', 'ServiceUnavailable', '08000', 'error'));
    await expect(store.neighbours('acme', { label: 'Task', id: 'x' })).rejects.toMatchObject({ code: 'DROVER_ERR_BACKEND_UNAVAILABLE', status: 503, retryable: true });
    driver.replies.push(new neo4j.Neo4jError('bad creds', 'Neo.ClientError.Security.Unauthorized', '42NFF', 'error'));
    await expect(store.recordTask('acme', { id: 'x', type: 'k', status: 'queued' })).rejects.toMatchObject({ code: 'DROVER_ERR_CONFIG', message: expect.stringContaining('DROVER_NEO4J_PASSWORD') });
    const other = new neo4j.Neo4jError('constraint', 'Neo.ClientError.Schema.ConstraintValidationFailed', '22N41', 'error');
    driver.replies.push(other);
    await expect(store.link('acme', { label: 'Task', id: 'x' }, 'R', { label: 'Task', id: 'y' })).rejects.toBe(other);
  });

  it('closes the driver it owns, once, and refuses calls afterwards', async () => {
    const { driver, store } = await started();
    await store.close();
    await store.close();
    expect(driver.closed).toBe(1);
    await expect(store.neighbours('acme', { label: 'Task', id: 'x' })).rejects.toMatchObject({ code: 'DROVER_ERR_SHUTTING_DOWN' });
    const shared = new RecordingDriver();
    await new Neo4jGraphStore({ driver: shared, ownsDriver: false }).close();
    expect(shared.closed).toBe(0);
  });

  it('opens a real driver from a URL, without connecting until the first query', async () => {
    const driver = await createNeo4jDriver({ url: 'bolt://127.0.0.1:7687', user: 'neo4j', password: 'secret' });
    expect(driver).toBeInstanceOf(neo4j.Driver);
    await driver.close();
  });
});

describe('createGraphStore', () => {
  it('gives the embedded store when no Neo4j URL is configured', async () => {
    const store = await createGraphStore({});
    await store.recordTask('acme', { id: 't', type: 'k', status: 'queued' });
    expect((await store.neighbours('acme', { label: 'Task', id: 't' })).nodes).toHaveLength(2);
    expect(store.constructor.name).toBe('EmbeddedGraphStore');
    await store.close();
  });
});
