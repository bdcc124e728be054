import { createHash } from 'node:crypto';
import { storing } from './stored-json.js';
import type { SubmitRequest } from './task.js';

/**
 * What makes two submissions "the same request" for idempotency: a retry with the same key and
 * the same body gets the original task; the same key with a different body is a conflict.
 */
export function submissionFingerprint(req: SubmitRequest): string {
  const canonical = storing(() => JSON.stringify([req.type, req.queue, req.tenant, req.priority, req.maxAttempts, req.timeoutMs, req.parentId ?? null, stableJson(req.input)]));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

function stableJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stableJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stableJson((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
