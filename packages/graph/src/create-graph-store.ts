import type { Logger } from '@drover/shared';
import { EmbeddedGraphStore } from './embedded-graph-store.js';
import type { GraphStore } from './graph-store.js';
import { Neo4jGraphStore } from './neo4j-graph-store.js';

export interface GraphStoreConfig {
  /** DROVER_NEO4J_URL: with it the graph lives in Neo4j, without it in process. */
  neo4jUrl?: string | undefined;
  neo4jUser?: string | undefined;
  neo4jPassword?: string | undefined;
  neo4jDatabase?: string | undefined;
  /** Embedded store only: keep the graph in <dataDir>/graph.json across restarts. */
  dataDir?: string | undefined;
  logger?: Logger | undefined;
}

/** Picks the backend from configuration and returns it ready (schema created, file loaded). */
export async function createGraphStore(config: GraphStoreConfig = {}): Promise<GraphStore> {
  if (config.neo4jUrl !== undefined && config.neo4jUrl !== '') {
    return Neo4jGraphStore.connect({
      url: config.neo4jUrl,
      user: config.neo4jUser,
      password: config.neo4jPassword,
      database: config.neo4jDatabase,
      logger: config.logger,
    });
  }
  const store = new EmbeddedGraphStore({ dataDir: config.dataDir, logger: config.logger });
  await store.init();
  return store;
}
