import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QdrantOperation, QdrantSchema } from './qdrant-schema.js';

/**
 * A local stand-in for the Qdrant REST API: only the endpoints the memory adapter calls, on a
 * real socket. Every request body and every response body is checked against the JSON Schemas
 * generated from Qdrant's OpenAPI document; a request the schema rejects gets Qdrant's 400, and
 * every mismatch (either direction) is kept in `violations` for the test to assert empty.
 */
export interface StandInOptions {
  schema: QdrantSchema;
  /** When set, every request must carry it in the `api-key` header, as Qdrant requires. */
  apiKey?: string;
}

export interface SeenRequest {
  method: string;
  path: string;
  operation: QdrantOperation | undefined;
  body: unknown;
  status: number;
}

interface Fault {
  status: number;
  retryAfter?: string;
  /** Only requests whose operation matches are failed. */
  operation?: QdrantOperation;
}

interface Point {
  id: string | number;
  vector: number[];
  payload: Record<string, unknown>;
}

interface Collection {
  size: number;
  distance: string;
  points: Map<string, Point>;
  indexes: Record<string, unknown>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Filter = { must?: unknown; should?: unknown; must_not?: unknown };

export class QdrantStandIn {
  readonly requests: SeenRequest[] = [];
  readonly violations: string[] = [];
  readonly collections = new Map<string, Collection>();
  private readonly faults: Fault[] = [];
  private operationId = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: StandInOptions,
  ) {}

  static async start(options: StandInOptions): Promise<QdrantStandIn> {
    let standIn: QdrantStandIn | undefined;
    const server = createServer((req, res) => void standIn!.handle(req, res));
    standIn = new QdrantStandIn(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `count` matching requests answer `status` (with Retry-After if given) instead of being served. */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const seen: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, operation: undefined, body: undefined, status: 200 };
    this.requests.push(seen);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, message: string, headers: Record<string, string> = {}) => {
      const body = { status: { error: message }, time: (performance.now() - started) / 1000 };
      this.checkError(body);
      send(status, body, headers);
    };
    try {
      if (this.options.apiKey !== undefined && req.headers['api-key'] !== this.options.apiKey) {
        throw new HttpError(401, 'Must provide an API key or an Authorization bearer token');
      }
      const route = this.route(seen.method, url.pathname);
      if (!route) throw new HttpError(404, `Not found: ${seen.method} ${url.pathname}`);
      seen.operation = route.operation;
      const faultAt = this.faults.findIndex((f) => f.operation === undefined || f.operation === route.operation);
      if (faultAt >= 0) {
        const [fault] = this.faults.splice(faultAt, 1);
        fail(fault!.status, fault!.status === 429 ? 'Too many requests' : 'Service unavailable: injected by the stand-in', fault!.retryAfter ? { 'retry-after': fault!.retryAfter } : {});
        return;
      }
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'Format error in JSON body: expected value at line 1 column 1');
        }
      }
      seen.body = body;
      if (body !== undefined || route.needsBody) {
        const problems = this.options.schema.requestErrors(route.operation, body);
        if (problems.length > 0) {
          this.violations.push(`request ${route.operation}: ${problems.join('; ')}`);
          throw new HttpError(400, `Format error in JSON body: ${problems[0]}`);
        }
      }
      const result = route.serve(route.name, body, url.searchParams);
      const answer = route.operation === 'root' ? result : { result, status: 'ok', time: (performance.now() - started) / 1000 };
      const problems = this.options.schema.responseErrors(route.operation, answer);
      if (problems.length > 0) {
        this.violations.push(`response ${route.operation}: ${problems.join('; ')}`);
        throw new HttpError(500, `stand-in answer does not match Qdrant's schema: ${problems[0]}`);
      }
      send(200, answer);
    } catch (err) {
      if (err instanceof HttpError) fail(err.status, err.message);
      else fail(500, `Service internal error: ${(err as Error).message}`);
    }
  }

  private checkError(body: unknown): void {
    const problems = this.options.schema.errorBodyErrors(body);
    if (problems.length > 0) this.violations.push(`error body: ${problems.join('; ')}`);
  }

  private route(
    method: string,
    path: string,
  ): { operation: QdrantOperation; name: string; needsBody: boolean; serve: (name: string, body: any, query: URLSearchParams) => unknown } | undefined {
    if (method === 'GET' && path === '/') return { operation: 'root', name: '', needsBody: false, serve: () => ({ title: 'qdrant - vector search engine (Drover stand-in)', version: '1.18.0' }) };
    const m = /^\/collections\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return undefined;
    const name = decodeURIComponent(m[1]!);
    const rest = m[2] ?? '';
    const table: Record<string, [QdrantOperation, boolean, (name: string, body: any, query: URLSearchParams) => unknown]> = {
      'GET ': ['get_collection', false, (n) => this.info(n)],
      'PUT ': ['create_collection', true, (n, b) => this.create(n, b)],
      'GET /exists': ['collection_exists', false, (n) => ({ exists: this.collections.has(n) })],
      'PUT /index': ['create_field_index', true, (n, b) => this.index(n, b)],
      'PUT /points': ['upsert_points', true, (n, b) => this.upsert(n, b)],
      'POST /points/query': ['query_points', true, (n, b) => this.query(n, b)],
      'POST /points/search': ['search_points', true, (n, b) => this.search(n, b)],
      'POST /points/count': ['count_points', true, (n, b) => this.count(n, b)],
      'POST /points/delete': ['delete_points', true, (n, b) => this.delete(n, b)],
    };
    const entry = table[`${method} ${rest}`];
    return entry ? { operation: entry[0], name, needsBody: entry[1], serve: entry[2] } : undefined;
  }

  private collection(name: string): Collection {
    const c = this.collections.get(name);
    if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  private create(name: string, body: { vectors?: { size?: number; distance?: string } }): boolean {
    if (this.collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
    const vectors = body?.vectors;
    if (typeof vectors?.size !== 'number' || typeof vectors.distance !== 'string') {
      throw new HttpError(400, 'Bad request: the stand-in serves one unnamed vector per point ({vectors: {size, distance}})');
    }
    this.collections.set(name, { size: vectors.size, distance: vectors.distance, points: new Map(), indexes: {} });
    return true;
  }

  private info(name: string): unknown {
    const c = this.collection(name);
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params: { vectors: { size: c.size, distance: c.distance }, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 20000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
      },
      payload_schema: Object.fromEntries(Object.entries(c.indexes).map(([field, schema]) => [field, { data_type: typeof schema === 'string' ? schema : (schema as { type: string }).type, params: typeof schema === 'object' ? schema : undefined, points: c.points.size }])),
    };
  }

  private updated(): unknown {
    return { operation_id: ++this.operationId, status: 'completed' };
  }

  private index(name: string, body: { field_name: string; field_schema?: unknown }): unknown {
    const c = this.collection(name);
    if (body.field_schema === undefined) throw new HttpError(400, 'Bad request: field_schema is required by the stand-in');
    c.indexes[body.field_name] = body.field_schema;
    return this.updated();
  }

  private upsert(name: string, body: { points?: Array<{ id: string | number; vector: unknown; payload?: Record<string, unknown> | null }> }): unknown {
    const c = this.collection(name);
    if (!body.points) throw new HttpError(400, 'Bad request: the stand-in serves the points-list form of upsert');
    for (const p of body.points) {
      if (!Array.isArray(p.vector)) throw new HttpError(400, 'Bad request: the stand-in serves one unnamed vector per point');
      if (p.vector.length !== c.size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${p.vector.length}`);
      // Qdrant normalises vectors of a Cosine collection on upsert, so search is a dot product.
      const norm = Math.hypot(...(p.vector as number[]));
      c.points.set(String(p.id), { id: p.id, vector: (p.vector as number[]).map((x) => x / norm), payload: p.payload ?? {} });
    }
    return this.updated();
  }

  private query(name: string, body: { query?: unknown; filter?: Filter; limit?: number; with_payload?: unknown }): unknown {
    if (!Array.isArray(body.query)) throw new HttpError(400, 'Bad request: the stand-in serves nearest-vector queries ({query: number[]})');
    return { points: this.nearest(name, body.query as number[], body.filter, body.limit ?? 10, body.with_payload === true) };
  }

  private search(name: string, body: { vector: unknown; filter?: Filter; limit?: number; with_payload?: unknown }): unknown {
    if (!Array.isArray(body.vector)) throw new HttpError(400, 'Bad request: the stand-in serves unnamed vectors');
    return this.nearest(name, body.vector as number[], body.filter, body.limit ?? 10, body.with_payload === true);
  }

  private nearest(name: string, vector: number[], filter: Filter | undefined, limit: number, withPayload: boolean): unknown[] {
    const c = this.collection(name);
    if (vector.length !== c.size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${vector.length}`);
    const norm = Math.hypot(...vector);
    const scored = [...c.points.values()]
      .filter((p) => matchesFilter(p, filter))
      .map((p) => ({ p, score: p.vector.reduce((s, x, i) => s + x * vector[i]!, 0) / norm }));
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, limit).map(({ p, score }) => ({ id: p.id, version: this.operationId, score, ...(withPayload ? { payload: p.payload } : {}) }));
  }

  private count(name: string, body: { filter?: Filter }): unknown {
    const c = this.collection(name);
    return { count: [...c.points.values()].filter((p) => matchesFilter(p, body.filter)).length };
  }

  private delete(name: string, body: { points?: Array<string | number>; filter?: Filter }): unknown {
    const c = this.collection(name);
    if (body.points) for (const id of body.points) c.points.delete(String(id));
    else for (const [id, p] of c.points) if (matchesFilter(p, body.filter)) c.points.delete(id);
    return this.updated();
  }
}

const list = (x: unknown): unknown[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);

function matchesFilter(p: Point, filter: Filter | undefined | null): boolean {
  if (!filter) return true;
  const must = list(filter.must);
  const should = list(filter.should);
  const mustNot = list(filter.must_not);
  return must.every((c) => matchesCondition(p, c)) && (should.length === 0 || should.some((c) => matchesCondition(p, c))) && !mustNot.some((c) => matchesCondition(p, c));
}

function matchesCondition(p: Point, c: any): boolean {
  if ('has_id' in c) return (c.has_id as Array<string | number>).some((id) => String(id) === String(p.id));
  if ('key' in c) {
    const value = (c.key as string).split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), p.payload);
    // Qdrant matches a payload array when any element matches.
    const values = Array.isArray(value) ? value : [value];
    if (c.match && 'value' in c.match) return values.some((v) => v === c.match.value);
    if (c.match && 'any' in c.match) return values.some((v) => (c.match.any as unknown[]).includes(v));
    if (c.range) {
      const r = c.range as { gt?: number; gte?: number; lt?: number; lte?: number };
      return values.some(
        (v) => typeof v === 'number' && (r.gt == null || v > r.gt) && (r.gte == null || v >= r.gte) && (r.lt == null || v < r.lt) && (r.lte == null || v <= r.lte),
      );
    }
  }
  if ('must' in c || 'should' in c || 'must_not' in c) return matchesFilter(p, c);
  throw new HttpError(400, `Bad request: the stand-in does not serve the condition ${JSON.stringify(c)}`);
}
