import { TASK_STATUSES, type TaskStatus } from '@drover/shared';
import { GraphInputError } from './graph-input-error.js';
import type { Direction, GraphLink, NeighbourOptions, NodeKey, NodeRef, Props, TaskNodeInput } from './graph-store.js';

/*
 * Labels and relation types cannot be Cypher parameters, so the Neo4j backend writes them into
 * the query text. These patterns are what makes that safe: nothing outside them reaches a query.
 * Both backends apply the same checks, so a call the embedded store accepts works on Neo4j.
 */
export const LABEL_PATTERN = /^[A-Z][A-Za-z0-9]{0,39}$/;
export const RELATION_PATTERN = /^[A-Z][A-Z0-9_]{0,39}$/;
export const PROP_KEY_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/;
/**
 * tenant and id are set by the store itself: a node's identity within its tenant.
 * __proto__ would be dropped by a plain JavaScript object, so the backends could disagree on it.
 */
export const RESERVED_PROP_KEYS: ReadonlySet<string> = new Set(['tenant', 'id', '__proto__']);

export const MAX_DEPTH = 3;
export const MAX_LIMIT = 500;
export const DEFAULT_DEPTH = 1;
export const DEFAULT_LIMIT = 100;
export const DEFAULT_DIRECTION: Direction = 'both';
/** Items in one recordTasks or linkMany call. */
export const MAX_BATCH = 10_000;
export const MAX_ID_LENGTH = 512;
export const MAX_TENANT_LENGTH = 256;
export const MAX_PROPS = 64;
export const MAX_STRING_PROP_LENGTH = 65_536;

const DIRECTIONS: ReadonlySet<string> = new Set<Direction>(['out', 'in', 'both']);
const STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);

/** A link after validation: props always present, so backends need no defaults of their own. */
export interface ValidLink {
  from: Required<NodeRef>;
  relation: string;
  to: Required<NodeRef>;
  props: Props;
}

export interface ValidTask {
  id: string;
  type: string;
  status: TaskStatus;
  parentId: string | null;
  createdAt: string | null;
}

export interface ValidNeighbourOptions {
  depth: number;
  relation: string | null;
  direction: Direction;
  limit: number;
}

export function validateLabel(label: unknown, field = 'label'): string {
  if (typeof label !== 'string' || !LABEL_PATTERN.test(label)) {
    throw new GraphInputError(field, `${field} must match ${LABEL_PATTERN.source} (a capitalised name such as Task or Artifact, at most 40 letters and digits)`, { value: describe(label) });
  }
  return label;
}

export function validateRelation(relation: unknown, field = 'relation'): string {
  if (typeof relation !== 'string' || !RELATION_PATTERN.test(relation)) {
    throw new GraphInputError(field, `${field} must match ${RELATION_PATTERN.source} (upper case with underscores, such as SPAWNED or CITED_BY, at most 40 characters)`, { value: describe(relation) });
  }
  return relation;
}

export function validatePropKey(key: string, field = 'props'): string {
  if (!PROP_KEY_PATTERN.test(key)) {
    throw new GraphInputError(`${field}.${key}`, `property key in ${field} must match ${PROP_KEY_PATTERN.source}`, { value: describe(key) });
  }
  if (RESERVED_PROP_KEYS.has(key)) {
    throw new GraphInputError(`${field}.${key}`, `property key ${key} in ${field} is reserved (${[...RESERVED_PROP_KEYS].join(', ')}): the store sets tenant and id itself`);
  }
  return key;
}

/** Returns a plain copy, so later changes to the caller's object do not reach the store. */
export function validateProps(props: unknown, field = 'props'): Props {
  if (props === undefined) return {};
  if (props === null || typeof props !== 'object' || Array.isArray(props)) {
    throw new GraphInputError(field, `${field} must be an object of string, number, boolean or null values`);
  }
  const entries = Object.entries(props);
  if (entries.length > MAX_PROPS) {
    throw new GraphInputError(field, `${field} has ${entries.length} properties; at most ${MAX_PROPS} are allowed`);
  }
  const out: Props = {};
  for (const [key, value] of entries) {
    validatePropKey(key, field);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new GraphInputError(`${field}.${key}`, `${field}.${key} must be a finite number`);
    }
    if (typeof value === 'string' && value.length > MAX_STRING_PROP_LENGTH) {
      throw new GraphInputError(`${field}.${key}`, `${field}.${key} is ${value.length} characters; at most ${MAX_STRING_PROP_LENGTH} are allowed`);
    }
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new GraphInputError(`${field}.${key}`, `${field}.${key} must be a string, number, boolean or null`);
    }
    out[key] = value;
  }
  return out;
}

export function validateTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > MAX_TENANT_LENGTH) {
    throw new GraphInputError('tenant', `tenant must be a non-empty string of at most ${MAX_TENANT_LENGTH} characters`);
  }
  return tenant;
}

export function validateId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new GraphInputError(field, `${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return id;
}

export function validateNodeKey(ref: unknown, field = 'ref'): NodeKey {
  if (ref === null || typeof ref !== 'object') throw new GraphInputError(field, `${field} must be an object {label, id}`);
  const { label, id } = ref as NodeKey;
  return { label: validateLabel(label, `${field}.label`), id: validateId(id, `${field}.id`) };
}

export function validateNodeRef(ref: unknown, field = 'ref'): Required<NodeRef> {
  const key = validateNodeKey(ref, field);
  return { ...key, props: validateProps((ref as NodeRef).props, `${field}.props`) };
}

/** `field` prefixes the names in errors; empty for a single link() call, whose arguments are from, relation, to. */
export function validateLink(link: unknown, field = ''): ValidLink {
  const at = (name: string): string => (field === '' ? name : `${field}.${name}`);
  if (link === null || typeof link !== 'object') throw new GraphInputError(field || 'link', `${field || 'link'} must be an object {from, relation, to, props?}`);
  const { from, relation, to, props } = link as GraphLink;
  return {
    from: validateNodeRef(from, at('from')),
    relation: validateRelation(relation, at('relation')),
    to: validateNodeRef(to, at('to')),
    props: validateProps(props, at('props')),
  };
}

export function validateTask(task: unknown, field = 'task'): ValidTask {
  if (task === null || typeof task !== 'object') throw new GraphInputError(field, `${field} must be an object {id, type, status, parentId?, createdAt?}`);
  const { id, type, status, parentId, createdAt } = task as TaskNodeInput;
  if (typeof status !== 'string' || !STATUSES.has(status)) {
    throw new GraphInputError(`${field}.status`, `${field}.status must be one of ${TASK_STATUSES.join(', ')}`, { value: describe(status) });
  }
  if (createdAt !== undefined && (typeof createdAt !== 'string' || createdAt.length > 64)) {
    throw new GraphInputError(`${field}.createdAt`, `${field}.createdAt must be an ISO 8601 string`);
  }
  return {
    id: validateId(id, `${field}.id`),
    type: validateId(type, `${field}.type`),
    status,
    parentId: parentId === undefined ? null : validateId(parentId, `${field}.parentId`),
    createdAt: createdAt ?? null,
  };
}

export function validateBatch<T>(items: unknown, field: string): readonly T[] {
  if (!Array.isArray(items)) throw new GraphInputError(field, `${field} must be an array`);
  if (items.length > MAX_BATCH) {
    throw new GraphInputError(field, `${field} has ${items.length} items; at most ${MAX_BATCH} are allowed in one call: split the batch`);
  }
  return items as readonly T[];
}

export function validateNeighbourOptions(options: NeighbourOptions = {}): ValidNeighbourOptions {
  const depth = options.depth ?? DEFAULT_DEPTH;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new GraphInputError('depth', `depth must be an integer from 1 to ${MAX_DEPTH}`, { value: describe(depth) });
  }
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw new GraphInputError('limit', `limit must be an integer from 0 to ${MAX_LIMIT}`, { value: describe(limit) });
  }
  const direction = options.direction ?? DEFAULT_DIRECTION;
  if (!DIRECTIONS.has(direction)) {
    throw new GraphInputError('direction', `direction must be one of out, in, both`, { value: describe(direction) });
  }
  const relation = options.relation === undefined ? null : validateRelation(options.relation);
  return { depth, relation, direction, limit };
}

/** A short, printable form of a rejected value for error details (never echoed into a query). */
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
