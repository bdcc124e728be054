import { BUILTIN_TASK_TYPES, type Backend, type Logger, type TaskTypeInfo } from '@drover/shared';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type ProblemError, escapePointer } from './problem.js';

// ajv-formats is CommonJS: depending on the loader its default import is the plugin or a
// module object holding it as `default` (the plugin carries itself as `.default` too).
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export interface TaskCatalogOptions {
  backend: Backend;
  logger: Logger;
  /** How long the registered types are trusted before a background re-read. */
  refreshMs?: number;
  /** An unknown type name triggers a re-read at most this often (new workers register types). */
  missRefreshMs?: number;
}

export interface CatalogEntry {
  info: TaskTypeInfo;
  builtin: boolean;
  /** Returns the input's problems as JSON pointers under `base`, or undefined when it is valid. */
  check(input: unknown, base: string): ProblemError[] | undefined;
}

/**
 * The task types the API accepts: the built-ins every deployment knows plus those workers
 * registered in the backend. Each input schema is compiled once (keyed by its JSON text, so a
 * re-registration of the same schema costs nothing) and lookups on the submit path are a Map get.
 */
export class TaskCatalog {
  private entries = new Map<string, CatalogEntry>();
  private readonly compiled = new Map<string, ValidateFunction | null>();
  private readonly refreshMs: number;
  private readonly missRefreshMs: number;
  private readAt = 0;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: TaskCatalogOptions) {
    this.refreshMs = options.refreshMs ?? 5000;
    this.missRefreshMs = options.missRefreshMs ?? 250;
    this.rebuild([]);
  }

  /** Cached lookup; refreshes in the background when the cache is old. */
  get(name: string): CatalogEntry | undefined {
    if (Date.now() - this.readAt > this.refreshMs) void this.refresh();
    return this.entries.get(name);
  }

  /** Like get(), but re-reads the registered types first when `name` is unknown (rate-limited). */
  async resolve(name: string): Promise<CatalogEntry | undefined> {
    const hit = this.get(name);
    if (hit || Date.now() - this.readAt < this.missRefreshMs) return hit;
    await this.refresh();
    return this.entries.get(name);
  }

  list(): CatalogEntry[] {
    return [...this.entries.values()];
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Re-reads the registered types; concurrent callers share one read. */
  refresh(): Promise<void> {
    this.reading ??= this.options.backend
      .taskTypes()
      .then((types) => this.rebuild(types))
      .catch((err: unknown) => this.options.logger.warn({ err }, 'could not read registered task types; using the last known list'))
      .finally(() => {
        this.readAt = Date.now();
        this.reading = undefined;
      });
    return this.reading;
  }

  private rebuild(registered: TaskTypeInfo[]): void {
    const next = new Map<string, CatalogEntry>();
    // Registered types win: the worker that runs a type knows its schema and queue best.
    for (const info of BUILTIN_TASK_TYPES) next.set(info.name, this.entry(info, true));
    for (const info of registered) {
      if (info && typeof info.name === 'string') next.set(info.name, this.entry(info, false));
    }
    this.entries = next;
  }

  private entry(info: TaskTypeInfo, builtin: boolean): CatalogEntry {
    const validate = this.compile(info);
    return {
      info,
      builtin,
      check: (input, base) => {
        if (validate === null || validate(input)) return undefined;
        return (validate.errors ?? []).slice(0, 20).map((e) => {
          const extra =
            e.keyword === 'additionalProperties'
              ? `/${escapePointer(String(e.params.additionalProperty))}`
              : e.keyword === 'required'
                ? `/${escapePointer(String(e.params.missingProperty))}`
                : '';
          const message =
            e.keyword === 'additionalProperties' ? 'is not a known field' : e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid');
          return { path: `${base}${e.instancePath}${extra}`, message };
        });
      },
    };
  }

  private compile(info: TaskTypeInfo): ValidateFunction | null {
    const text = JSON.stringify(info.inputSchema ?? {});
    const cached = this.compiled.get(text);
    if (cached !== undefined) return cached;
    let validate: ValidateFunction | null;
    try {
      // One Ajv per schema: types registered by different workers may reuse a $id.
      const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: false, useDefaults: false, removeAdditional: false });
      addFormats(ajv);
      validate = ajv.compile(JSON.parse(text) as object);
    } catch (err) {
      // Not the caller's fault: accept the input and let the worker's own check decide.
      this.options.logger.error({ err, taskType: info.name }, 'input schema of task type does not compile; its inputs are not checked here');
      validate = null;
    }
    this.compiled.set(text, validate);
    return validate;
  }
}
