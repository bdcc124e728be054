export type {
  Direction,
  GraphEdge,
  GraphLink,
  GraphNode,
  GraphStore,
  NeighbourOptions,
  Neighbourhood,
  NodeKey,
  NodeRef,
  PropValue,
  Props,
  TaskNodeInput,
} from './graph-store.js';
export { GraphInputError } from './graph-input-error.js';
export {
  DEFAULT_DEPTH,
  DEFAULT_DIRECTION,
  DEFAULT_LIMIT,
  LABEL_PATTERN,
  MAX_BATCH,
  MAX_DEPTH,
  MAX_LIMIT,
  PROP_KEY_PATTERN,
  RELATION_PATTERN,
  RESERVED_PROP_KEYS,
  validateLabel,
  validateLink,
  validateNeighbourOptions,
  validateNodeKey,
  validateNodeRef,
  validatePropKey,
  validateProps,
  validateRelation,
  validateTask,
  validateTenant,
} from './graph-input.js';
export { EmbeddedGraphStore, type EmbeddedGraphStoreOptions } from './embedded-graph-store.js';
export { Neo4jGraphStore, type Neo4jGraphStoreConnectOptions, type Neo4jGraphStoreOptions } from './neo4j-graph-store.js';
export { createNeo4jDriver, type Neo4jConnectionOptions, type Neo4jDriverLike, type Neo4jQueryConfig, type Neo4jRecordLike } from './neo4j-connection.js';
export { type CypherQuery, type LinkStatement, linkQueries, neighboursQuery, nodeKeyConstraintQuery, recordTasksQueries, schemaQueries } from './cypher.js';
export { createGraphStore, type GraphStoreConfig } from './create-graph-store.js';
