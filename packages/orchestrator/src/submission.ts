import { type DroverConfig, PRIORITY_DEFAULT, type SubmitRequest } from '@drover/shared';
import type { SubmitItem } from './api-schemas.js';
import { dotted, problemError } from './problem.js';
import type { TaskCatalog } from './task-catalog.js';

const FALLBACK_QUEUE = 'general';

/**
 * Turns a validated request item into the complete SubmitRequest a backend expects: checks the
 * type and its input, picks the queue, and fills every default (task type's own, then config).
 * `base` is the item's JSON pointer in the body ('' for POST /v1/tasks, '/tasks/3' in a batch),
 * so every error names exactly which field of which task is wrong.
 */
export class Submissions {
  private readonly queues: ReadonlySet<string>;

  constructor(
    private readonly config: DroverConfig,
    private readonly catalog: TaskCatalog,
  ) {
    this.queues = new Set(config.queues);
  }

  async build(item: SubmitItem, tenant: string, idempotencyKey: string | undefined, base: string): Promise<SubmitRequest> {
    const entry = this.catalog.get(item.type) ?? (await this.catalog.resolve(item.type));
    if (entry === undefined) {
      throw problemError(
        'UNKNOWN_TASK_TYPE',
        `${where(base, 'type')}: unknown task type ${JSON.stringify(item.type)}; known types: ${this.catalog.names().join(', ')} (GET /v1/task-types lists them with their input schemas).`,
        [{ path: `${base}/type`, message: 'is not a known task type' }],
      );
    }
    const input = item.input === undefined ? null : item.input;
    const problems = entry.check(input, `${base}/input`);
    if (problems !== undefined) {
      const first = problems[0];
      const at = first ? dotted(first.path) : dotted(`${base}/input`);
      throw problemError(
        'INVALID_INPUT',
        `${at} ${first?.message ?? 'is invalid'}: the input does not match the schema of task type ${item.type} (see GET /v1/task-types).`,
        problems,
      );
    }
    const info = entry.info;
    const queue = item.queue ?? info.queue ?? FALLBACK_QUEUE;
    if (!this.queues.has(queue)) {
      throw problemError(
        'UNKNOWN_QUEUE',
        `${where(base, 'queue')}: queue ${JSON.stringify(queue)} does not exist${item.queue === undefined ? ` (it is the queue of task type ${item.type})` : ''}; queues: ${this.config.queues.join(', ')} (DROVER_QUEUES).`,
        [{ path: `${base}/queue`, message: 'is not one of DROVER_QUEUES' }],
      );
    }
    const defaults = this.config.tasks;
    return {
      type: item.type,
      queue,
      tenant,
      input,
      priority: item.priority ?? PRIORITY_DEFAULT,
      delayMs: item.delayMs ?? 0,
      maxAttempts: item.maxAttempts ?? info.maxAttempts ?? defaults.defaultMaxAttempts,
      backoffMs: item.backoffMs ?? info.backoffMs ?? defaults.defaultBackoffMs,
      timeoutMs: item.timeoutMs ?? info.timeoutMs ?? defaults.defaultTimeoutMs,
      idempotencyKey: idempotencyKey ?? null,
      parentId: item.parentId ?? null,
    };
  }
}

function where(base: string, field: string): string {
  return dotted(`${base}/${field}`);
}
