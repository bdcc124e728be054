import { DroverError } from '@drover/shared';

/*
 * The part of neo4j-driver's Driver that the store uses. A real `neo4j.Driver` fits it; typing
 * it here rather than importing the driver's types keeps this package loadable (and the
 * embedded store usable) where neo4j-driver is not installed, as embedded mode needs no server.
 */

export type Neo4jRouting = 'READ' | 'WRITE';

export interface Neo4jQueryConfig {
  database?: string;
  routing?: Neo4jRouting;
}

export interface Neo4jRecordLike {
  get(key: string): unknown;
}

export interface Neo4jDriverLike {
  executeQuery(query: string, parameters: Record<string, unknown>, config: Neo4jQueryConfig): Promise<{ records: Neo4jRecordLike[] }>;
  close(): Promise<void>;
}

export interface Neo4jConnectionOptions {
  /** bolt://, neo4j:// (routing) or their +s/+ssc forms. */
  url: string;
  /** Default `neo4j`. */
  user?: string | undefined;
  /** Without one the driver connects without authentication (a server with NEO4J_AUTH=none). */
  password?: string | undefined;
}

/** Loads neo4j-driver on demand, so embedded mode never loads it, and opens a driver. */
export async function createNeo4jDriver(options: Neo4jConnectionOptions): Promise<Neo4jDriverLike> {
  // A variable specifier: the package typechecks and loads without neo4j-driver installed.
  const specifier = 'neo4j-driver';
  let loaded: any;
  try {
    loaded = await import(specifier);
  } catch (err) {
    throw new DroverError('CONFIG', 'DROVER_NEO4J_URL is set but the neo4j-driver package is not installed: add it to @drover/graph, or unset DROVER_NEO4J_URL to use the embedded graph', {
      cause: err,
    });
  }
  const neo4j = loaded.default ?? loaded;
  const auth = options.password === undefined ? neo4j.auth.none() : neo4j.auth.basic(options.user ?? 'neo4j', options.password);
  // Lossless integers would hand back Integer objects; every number the store writes is a JS number.
  return neo4j.driver(options.url, auth, { disableLosslessIntegers: true, userAgent: 'drover-graph/0.1' }) as Neo4jDriverLike;
}
