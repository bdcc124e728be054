/**
 * Errors of the memory package, with stable codes in the DROVER_ERR_* family. They live here,
 * not in the shared table, because memory is a package of its own (see DESIGN.md); the shape
 * (code, status, title, retryable, details) matches DroverError so callers handle both alike.
 */
export const MemoryErrorCodes = {
  BAD_TENANT: { code: 'DROVER_ERR_MEMORY_BAD_TENANT', status: 400, title: 'Invalid memory tenant' },
  BAD_COLLECTION: { code: 'DROVER_ERR_MEMORY_BAD_COLLECTION', status: 400, title: 'Invalid memory collection name' },
  BAD_ITEM: { code: 'DROVER_ERR_MEMORY_BAD_ITEM', status: 400, title: 'Invalid memory item' },
  BAD_QUERY: { code: 'DROVER_ERR_MEMORY_BAD_QUERY', status: 400, title: 'Invalid recall query' },
  BAD_K: { code: 'DROVER_ERR_MEMORY_BAD_K', status: 400, title: 'k out of range' },
  BAD_FILTER: { code: 'DROVER_ERR_MEMORY_BAD_FILTER', status: 400, title: 'Invalid payload filter' },
  DIMENSION_MISMATCH: { code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH', status: 400, title: 'Vector dimension does not match the store' },
  EMBEDDING_FAILED: { code: 'DROVER_ERR_MEMORY_EMBEDDING_FAILED', status: 502, title: 'The embeddings service failed' },
  BACKEND_UNAVAILABLE: { code: 'DROVER_ERR_MEMORY_BACKEND_UNAVAILABLE', status: 503, title: 'The vector database failed' },
  STORAGE: { code: 'DROVER_ERR_MEMORY_STORAGE', status: 500, title: 'The memory data file cannot be read or written' },
  CLOSED: { code: 'DROVER_ERR_MEMORY_CLOSED', status: 503, title: 'The memory store is closed' },
  CONFIG: { code: 'DROVER_ERR_MEMORY_CONFIG', status: 500, title: 'Invalid memory configuration' },
} as const;

export type MemoryErrorKind = keyof typeof MemoryErrorCodes;
export type MemoryErrorCode = (typeof MemoryErrorCodes)[MemoryErrorKind]['code'];

export interface MemoryErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class MemoryError extends Error {
  readonly code: MemoryErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: MemoryErrorKind, message: string, options: MemoryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = MemoryErrorCodes[kind];
    this.name = 'MemoryError';
    this.code = entry.code;
    this.status = entry.status;
    this.title = entry.title;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export function isMemoryError(err: unknown): err is MemoryError {
  return err instanceof MemoryError;
}
