import { describe, expect, it } from 'vitest';
import { type CypherQuery, GraphInputError, type NeighbourOptions, linkQueries, neighboursQuery, nodeKeyConstraintQuery, recordTasksQueries, schemaQueries } from '../src/index.js';

// Each adversarial value carries a marker no statement could hold by chance, so "the text
// does not contain the value" cannot pass because the value happens to be Cypher.
const MARK = 'Zq9';
const EVIL = [
  `${MARK}1 it's "quoted"`,
  `${MARK}2 back\`tick\` \\\``,
  `${MARK}3 }) MATCH (x) DETACH DELETE x //`,
  `${MARK}4 ünïcødé ☃ 🚀 名前 \u202e`,
  `${MARK}5 $tenant \n RETURN 1`,
  `${MARK}6 '}]->(y) SET y.tenant = 'b' //`,
];
const [T, A, B, C, D, E] = EVIL as [string, string, string, string, string, string];

const DIRECTIONS = ['out', 'in', 'both'] as const;

/** Every option combination a neighbourhood query can take. */
function neighbourVariants(): NeighbourOptions[] {
  const variants: NeighbourOptions[] = [{}];
  for (const direction of DIRECTIONS) {
    for (const depth of [1, 2, 3]) {
      for (const relation of [undefined, 'SPAWNED', 'CITED_BY']) variants.push({ direction, depth, relation, limit: 7 });
    }
  }
  return variants;
}

function builtQueries(): CypherQuery[] {
  return [
    ...recordTasksQueries(T, [
      { id: A, type: B, status: 'queued', parentId: C, createdAt: D },
      { id: E, type: A, status: 'running' },
    ]),
    ...linkQueries(T, [
      { from: { label: 'Task', id: A, props: { text: B, n: 1, ok: true, gone: null } }, relation: 'PRODUCED', to: { label: 'Artifact', id: C, props: { kind: D } }, props: { note: E } },
      { from: { label: 'Artifact', id: D }, relation: 'MENTIONS', to: { label: 'Entity', id: E } },
    ]).map((s) => s.query),
    ...neighbourVariants().map((options) => neighboursQuery(T, { label: 'Task', id: A }, options)),
  ];
}

/** All strings anywhere inside a parameter value. */
function paramStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) paramStrings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) paramStrings(v, out);
  return out;
}

const CLAUSE = /\b(OPTIONAL MATCH|MATCH|MERGE|WITH|UNWIND|WHERE|SET|DELETE|RETURN|ORDER BY)\b/g;
const NODE_PATTERN = /\(\s*([A-Za-z_]\w*)?\s*(?::\s*(`[^`]*`|\w+))?\s*(\{[^}]*\})?\s*\)/g;

/**
 * Node patterns in MATCH/MERGE clauses that could reach another tenant's node: a pattern that
 * binds a new variable, or has a label or a property map, must carry `tenant: $tenant`; a bare
 * `(v)` must name a variable bound earlier (by such a pattern, or by `AS v`).
 */
function unscopedNodePatterns(text: string): string[] {
  const pieces = text.split(CLAUSE);
  const bound = new Set<string>();
  const problems: string[] = [];
  for (let i = 1; i < pieces.length; i += 2) {
    const keyword = pieces[i]!;
    const body = pieces[i + 1] ?? '';
    for (const alias of body.matchAll(/\bAS\s+(\w+)/g)) bound.add(alias[1]!);
    if (keyword !== 'MATCH' && keyword !== 'OPTIONAL MATCH' && keyword !== 'MERGE') continue;
    for (const [pattern, variable, nodeLabel, map] of body.matchAll(NODE_PATTERN)) {
      const scoped = map !== undefined && /\btenant:\s*\$tenant\b/.test(map);
      const bare = nodeLabel === undefined && map === undefined;
      if (!scoped && !(bare && variable !== undefined && bound.has(variable))) problems.push(pattern);
      if (variable !== undefined) bound.add(variable);
    }
  }
  return problems;
}

describe('cypher builders', () => {
  it('keep every input value out of the query text and in the parameters', () => {
    const queries = builtQueries();
    expect(queries.length).toBeGreaterThan(25);
    const sent = new Set(queries.flatMap((q) => paramStrings(q.params)));
    for (const value of EVIL) expect(sent.has(value)).toBe(true);
    for (const query of queries) {
      expect(query.text).not.toContain(MARK);
      for (const value of EVIL) expect(query.text).not.toContain(value);
      // No string literal at all: nothing can be spliced into one.
      expect(query.text).not.toMatch(/['"]/);
      expect(query.text).not.toMatch(/DETACH|\bDELETE x\b|\/\//);
    }
  });

  it('scope every node they match or merge to the tenant parameter', () => {
    for (const query of builtQueries()) {
      expect(unscopedNodePatterns(query.text), query.text).toEqual([]);
      expect(query.text).toContain('tenant: $tenant');
      expect(query.params['tenant']).toBe(T);
    }
  });

  it('catch an unscoped pattern (the check above can fail)', () => {
    expect(unscopedNodePatterns('MATCH (s:`Task` {id: $id}) RETURN s')).toEqual(['(s:`Task` {id: $id})']);
    expect(unscopedNodePatterns('MATCH (s:`Task` {tenant: $tenant, id: $id})\nMATCH (s)-[r]->(m)\nRETURN m')).toEqual(['(m)']);
    expect(unscopedNodePatterns('UNWIND $rows AS row\nMERGE (a:Task {tenant: row.tenant, id: row.id})')).toHaveLength(1);
    expect(unscopedNodePatterns('MATCH (s:Task {tenant: $tenant, id: $id})\nWITH s\nMATCH (s)-->(m {tenant: $tenant})')).toEqual([]);
  });

  it('write labels and relation types only backticked after validation', () => {
    const allowed = /^`(?:[A-Z][A-Za-z0-9]{0,39}|[A-Z][A-Z0-9_]{0,39}|drover_[A-Z][A-Za-z0-9]{0,39}_(?:key|name|kind|status))`$/;
    for (const query of [...builtQueries(), ...schemaQueries(), nodeKeyConstraintQuery('Entity')]) {
      for (const [quoted] of query.text.matchAll(/`[^`]*`/g)) expect(quoted).toMatch(allowed);
      // Backticks pair up: no label can open a quote that the rest of the text closes.
      expect((query.text.match(/`/g) ?? []).length % 2).toBe(0);
    }
  });

  it('balance their brackets', () => {
    // No Cypher parser is installed here; this is the structural part of a parse check.
    const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    for (const query of [...builtQueries(), ...schemaQueries()]) {
      const stack: string[] = [];
      for (const ch of query.text.replace(/`[^`]*`/g, '')) {
        if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
        else if (ch in pairs) expect(stack.pop(), query.text).toBe(pairs[ch]);
      }
      expect(stack).toEqual([]);
    }
  });

  it('throw on a bad label or relation before any query exists', () => {
    const badLabels = ['Task) DETACH DELETE n //', 'Task`', 'task', '', 'A'.repeat(41), 'Tä', 'Task:Admin', 'Task {tenant: 1}'];
    const badRelations = ['PRODUCED]->(x) DELETE x //', 'produced', 'A-B', 'A B', '_A', 'R`', 'Ŕ', 'A'.repeat(41)];
    for (const bad of badLabels) {
      expect(() => neighboursQuery(T, { label: bad, id: A })).toThrow(GraphInputError);
      expect(() => linkQueries(T, [{ from: { label: bad, id: A }, relation: 'R', to: { label: 'Task', id: B } }])).toThrow(GraphInputError);
      expect(() => linkQueries(T, [{ from: { label: 'Task', id: A }, relation: 'R', to: { label: bad, id: B } }])).toThrow(GraphInputError);
      expect(() => nodeKeyConstraintQuery(bad)).toThrow(GraphInputError);
    }
    for (const bad of badRelations) {
      expect(() => linkQueries(T, [{ from: { label: 'Task', id: A }, relation: bad, to: { label: 'Task', id: B } }])).toThrow(GraphInputError);
      expect(() => neighboursQuery(T, { label: 'Task', id: A }, { relation: bad })).toThrow(GraphInputError);
    }
    // One bad link in a batch: no statement for the good ones either.
    expect(() =>
      linkQueries(T, [
        { from: { label: 'Task', id: A }, relation: 'R', to: { label: 'Task', id: B } },
        { from: { label: 'Task', id: A }, relation: 'R', to: { label: 'Task', id: B }, props: { 'x y': 1 } },
      ]),
    ).toThrow(/links\[1\]\.props/);
  });

  it('write depth and limit as validated integer literals only', () => {
    for (const depth of [1, 2, 3]) {
      const q = neighboursQuery(T, { label: 'Task', id: A }, { depth, limit: 42 });
      expect(q.text).toContain(`*1..${depth}]`);
      expect(q.text).toContain('[..42]');
      expect(q.text).toContain(`f.dist < ${depth} `);
    }
    for (const depth of [0, 4, 1.5, Number.NaN, '2' as never, '1]-(x) DELETE x //' as never]) {
      expect(() => neighboursQuery(T, { label: 'Task', id: A }, { depth })).toThrow(GraphInputError);
    }
    for (const limit of [-1, 501, 2.5, '10' as never]) {
      expect(() => neighboursQuery(T, { label: 'Task', id: A }, { limit })).toThrow(GraphInputError);
    }
  });

  it('follow the direction asked for', () => {
    const text = (direction: 'out' | 'in' | 'both') => neighboursQuery(T, { label: 'Task', id: A }, { direction, relation: 'SPAWNED', depth: 2 }).text;
    expect(text('out')).toContain('(s)-[:`SPAWNED`*1..2]->(m');
    expect(text('in')).toContain('(s)<-[:`SPAWNED`*1..2]-(m');
    expect(text('both')).toContain('(s)-[:`SPAWNED`*1..2]-(m');
    expect(text('out')).toContain('(a)-[r:`SPAWNED`]->(b');
    expect(text('in')).toContain('(a)<-[r:`SPAWNED`]-(b');
  });

  it('group links by (from label, relation, to label) and chunk rows', () => {
    const links = [
      ...Array.from({ length: 5 }, (_, i) => ({ from: { label: 'Task', id: `t${i}` }, relation: 'PRODUCED', to: { label: 'Artifact', id: `a${i}` } })),
      { from: { label: 'Task', id: 't0' }, relation: 'PRODUCED', to: { label: 'Report', id: 'r' } },
      { from: { label: 'Task', id: 't0' }, relation: 'CITES', to: { label: 'Artifact', id: 'a1' } },
    ];
    const statements = linkQueries(T, links, 2);
    expect(statements.map((s) => `${s.fromLabel} ${s.relation} ${s.toLabel} ${(s.query.params['rows'] as unknown[]).length}`)).toEqual([
      'Task PRODUCED Artifact 2',
      'Task PRODUCED Artifact 2',
      'Task PRODUCED Artifact 1',
      'Task PRODUCED Report 1',
      'Task CITES Artifact 1',
    ]);
    expect(statements[3]!.query.text).toContain('MERGE (b:`Report` {tenant: $tenant, id: row.toId})');
    expect(statements[4]!.query.text).toContain('MERGE (a)-[r:`CITES`]->(b)');
    expect(statements[0]!.query.params['rows']).toEqual([
      { fromId: 't0', fromProps: {}, toId: 'a0', toProps: {}, props: {} },
      { fromId: 't1', fromProps: {}, toId: 'a1', toProps: {}, props: {} },
    ]);
    expect(recordTasksQueries(T, Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, type: 'k', status: 'queued' as const })), 2)).toHaveLength(3);
    expect(recordTasksQueries(T, [])).toEqual([]);
  });

  it('create the composite uniqueness constraint that Community supports, idempotently', () => {
    const texts = schemaQueries().map((q) => q.text);
    for (const label of ['Task', 'Artifact', 'AgentType']) {
      expect(texts).toContain(`CREATE CONSTRAINT \`drover_${label}_key\` IF NOT EXISTS FOR (n:\`${label}\`) REQUIRE (n.tenant, n.id) IS UNIQUE`);
    }
    expect(texts.every((t) => t.includes('IF NOT EXISTS'))).toBe(true);
    expect(texts.some((t) => t.includes('NODE KEY'))).toBe(false);
  });
});
