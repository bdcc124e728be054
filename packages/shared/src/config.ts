import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { BackendKind } from './backend.js';
import { type Env, EnvReader, configError } from './env-reader.js';
import { NAME_RE } from './task.js';
import { RedisUrlError, SENTINEL_URL_FORM, isSentinelUrl, redactRedisUrl, redisOptionsFromUrl } from './redis-url.js';
import { DEFAULT_POISON_CRASHES } from './task-rules.js';
import { type ScraperConfig, readScraperConfig } from './config-scraper.js';
import type { TelemetryConfig } from './tracing.js';

export type { Env } from './env-reader.js';

/** An API key as loaded from DROVER_API_KEYS: only its SHA-256 digest is kept in memory. */
export interface ApiKeyEntry {
  tenant: string;
  sha256: string;
}

export interface DroverConfig {
  /** embedded = orchestrator + worker in one process on the memory backend. */
  backend: BackendKind;
  redisUrl: string | undefined;
  amqpUrl: string | undefined;
  /** Prefix of every Redis key and broker object Drover creates. */
  prefix: string;
  queues: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  instance: string;
  region: string;

  http: {
    host: string;
    port: number;
    /** When set, /metrics is served on this port only (with /healthz and /readyz), not on `port`. */
    metricsPort: number | undefined;
    bodyLimitBytes: number;
    /** Deepest nesting of arrays and objects a JSON body may have (the body itself is level 1). */
    jsonMaxDepth: number;
    batchMax: number;
    maxBacklog: number;
    waitMaxMs: number;
    /** Auth on unless explicitly turned off. */
    auth: boolean;
    apiKeys: ApiKeyEntry[];
    /** Tenants allowed to pause and resume queues. */
    adminTenants: string[];
    docs: boolean;
    /** On SIGTERM, how long /readyz answers 503 before the server stops taking connections. */
    drainDelayMs: number;
    /** How long /metrics reuses the queue figures it read from the backend. */
    metricsCacheMs: number;
    /** The orchestrators' leader lease (DROVER_LEADER_LEASE_MS): a dead leader's duties are taken over within about this long. */
    leaderLeaseMs: number;
    /** How long task events are kept for SSE clients resuming with Last-Event-ID. */
    eventRetentionSeconds: number;
    /** Most task events an orchestrator keeps for resuming (the oldest go first). */
    eventLogMaxEvents: number;
    /** Interval of the keep-alive comments on idle SSE streams. */
    sseKeepAliveMs: number;
    /** Requests one API key may make per minute, across replicas (DROVER_API_RATE_PER_MINUTE); 0 = no limit. */
    apiRatePerMinute: number;
    /** Tasks a tenant may submit per minute, across replicas (DROVER_TENANT_SUBMIT_RATE); `*` for the others. */
    tenantSubmitRate: Record<string, number>;
  };

  tasks: {
    defaultTimeoutMs: number;
    defaultMaxAttempts: number;
    defaultBackoffMs: number;
    resultTtlSeconds: number;
    /** A running task's lock (bullmq) or lease (rabbitmq): a worker silent this long is presumed lost. */
    leaseMs: number;
    /** Crashes of its worker that quarantine a task as a poison task. */
    poisonCrashes: number;
    /** Tasks running at once across every queue and worker process (DROVER_MAX_AGENTS). */
    maxAgents: number;
    /** Tasks of a tenant running at once across the cluster (DROVER_TENANT_MAX_RUNNING); `*` for the others. */
    tenantMaxRunning: Record<string, number>;
  };

  worker: {
    concurrency: number;
    queues: string[];
    host: string;
    port: number;
    shutdownGraceMs: number;
    heartbeatMs: number;
  };

  scraper: ScraperConfig;

  /** The agents of built-in task types (debate) call it when set; they answer deterministically when not. */
  llm: {
    /** An OpenAI-compatible chat completions endpoint, e.g. https://api.openai.com/v1/chat/completions. */
    url: string | undefined;
    model: string;
    apiKey: string | undefined;
  };

  /** OpenTelemetry traces, from the standard OTEL_* variables. */
  telemetry: TelemetryConfig;

  /** Agent memory (ctx.memory, ctx.graph): embedded in the process unless a server is configured. */
  memory: {
    /** Where the embedded vector and graph stores persist (DROVER_DATA_DIR); in memory only when unset. */
    dataDir: string | undefined;
    qdrantUrl: string | undefined;
    qdrantApiKey: string | undefined;
    /** An OpenAI-compatible embeddings endpoint base (…/v1); the local deterministic embedder when unset. */
    embeddingsUrl: string | undefined;
    embeddingsModel: string;
    embeddingsApiKey: string | undefined;
    neo4jUrl: string | undefined;
    neo4jUser: string;
    neo4jPassword: string | undefined;
    neo4jDatabase: string | undefined;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEFAULT_QUEUES = ['general', 'coding', 'analysis', 'debate', 'scrape'];

/**
 * The only reader of the environment. Validates everything up front: a bad value throws a
 * DroverError (code DROVER_ERR_CONFIG) whose message names the variable and what it accepts.
 */
export function loadConfig(env: Env = process.env): DroverConfig {
  const r = new EnvReader(env);
  const limitsFile = tenantLimitsFile(r);
  const redisUrl = redisUrlOf(r);
  const amqpUrl = r.url('DROVER_AMQP_URL', ['amqp', 'amqps']);
  const backend = r.oneOf<BackendKind>('DROVER_BACKEND', ['memory', 'bullmq', 'rabbitmq'], redisUrl ? 'bullmq' : 'memory');
  if (backend === 'bullmq' && !redisUrl) {
    throw configError('DROVER_REDIS_URL', '', 'a redis:// URL when DROVER_BACKEND=bullmq');
  }
  if (backend === 'rabbitmq' && (!amqpUrl || !redisUrl)) {
    throw configError(
      amqpUrl ? 'DROVER_REDIS_URL' : 'DROVER_AMQP_URL',
      '',
      'both DROVER_AMQP_URL (the broker) and DROVER_REDIS_URL (the task store) when DROVER_BACKEND=rabbitmq',
    );
  }

  const queues = names(r, 'DROVER_QUEUES', DEFAULT_QUEUES);
  const workerQueues = names(r, 'DROVER_WORKER_QUEUES', queues);
  for (const q of workerQueues) {
    if (!queues.includes(q)) throw configError('DROVER_WORKER_QUEUES', q, `queues listed in DROVER_QUEUES (${queues.join(', ')})`);
  }
  const embedded = backend === 'memory';

  return {
    backend,
    redisUrl,
    amqpUrl,
    prefix: prefixOf(r),
    queues,
    logLevel: r.oneOf('DROVER_LOG_LEVEL', LOG_LEVELS, 'info'),
    instance: r.string('DROVER_INSTANCE', hostname()),
    region: r.string('DROVER_REGION', 'local'),
    http: {
      host: r.string('DROVER_HOST', embedded ? '127.0.0.1' : '0.0.0.0'),
      port: r.int('DROVER_PORT', 8080, { min: 0, max: 65535 }),
      metricsPort: r.raw('DROVER_METRICS_PORT') === undefined ? undefined : r.int('DROVER_METRICS_PORT', 0, { min: 0, max: 65535 }),
      bodyLimitBytes: r.int('DROVER_BODY_LIMIT_BYTES', 1_048_576, { min: 1024, max: 104_857_600 }),
      // Well under what JSON.stringify and structuredClone survive (a few thousand levels).
      jsonMaxDepth: r.int('DROVER_JSON_MAX_DEPTH', 64, { min: 2, max: 1000 }),
      batchMax: r.int('DROVER_BATCH_MAX', 500, { min: 1, max: 10_000 }),
      maxBacklog: r.int('DROVER_MAX_BACKLOG', 100_000, { min: 1 }),
      waitMaxMs: r.int('DROVER_WAIT_MAX_MS', 60_000, { min: 0, max: 600_000 }),
      auth: r.bool('DROVER_AUTH', true),
      apiKeys: apiKeys(r),
      adminTenants: r.list('DROVER_ADMIN_TENANTS', []),
      docs: r.bool('DROVER_DOCS', true),
      drainDelayMs: r.int('DROVER_DRAIN_DELAY_MS', 2000, { min: 0, max: 300_000 }),
      metricsCacheMs: r.int('DROVER_METRICS_CACHE_MS', 1000, { min: 0, max: 60_000 }),
      leaderLeaseMs: r.int('DROVER_LEADER_LEASE_MS', 3000, { min: 300, max: 60_000 }),
      eventRetentionSeconds: r.int('DROVER_EVENT_RETENTION_SECONDS', 3600, { min: 0, max: 604_800 }),
      eventLogMaxEvents: r.int('DROVER_EVENT_LOG_MAX_EVENTS', 200_000, { min: 100, max: 10_000_000 }),
      sseKeepAliveMs: r.int('DROVER_SSE_KEEPALIVE_MS', 15_000, { min: 100, max: 300_000 }),
      apiRatePerMinute: r.int('DROVER_API_RATE_PER_MINUTE', 0, { min: 0, max: 10_000_000 }),
      tenantSubmitRate: { ...tenantRates(r, 'DROVER_TENANT_SUBMIT_RATE'), ...limitsFile?.submitsPerMinute },
    },
    tasks: {
      defaultTimeoutMs: r.int('DROVER_TASK_TIMEOUT_MS', 300_000, { min: 1, max: 86_400_000 }),
      defaultMaxAttempts: r.int('DROVER_TASK_MAX_ATTEMPTS', 3, { min: 1, max: 100 }),
      defaultBackoffMs: r.int('DROVER_TASK_BACKOFF_MS', 1000, { min: 0, max: 3_600_000 }),
      resultTtlSeconds: r.int('DROVER_RESULT_TTL_SECONDS', 86_400, { min: 1 }),
      leaseMs: r.int('DROVER_TASK_LEASE_MS', 30_000, { min: 500, max: 3_600_000 }),
      poisonCrashes: r.int('DROVER_POISON_CRASHES', DEFAULT_POISON_CRASHES, { min: 1, max: 100 }),
      maxAgents: r.int('DROVER_MAX_AGENTS', 500, { min: 1, max: 1_000_000 }),
      tenantMaxRunning: { ...tenantRates(r, 'DROVER_TENANT_MAX_RUNNING'), ...limitsFile?.maxRunning },
    },
    worker: {
      concurrency: r.int('DROVER_WORKER_CONCURRENCY', 3, { min: 1, max: 10_000 }),
      queues: workerQueues,
      host: r.string('DROVER_WORKER_HOST', embedded ? '127.0.0.1' : '0.0.0.0'),
      port: r.int('DROVER_WORKER_PORT', 9090, { min: 0, max: 65535 }),
      shutdownGraceMs: r.int('DROVER_SHUTDOWN_GRACE_MS', 30_000, { min: 0, max: 3_600_000 }),
      heartbeatMs: r.int('DROVER_HEARTBEAT_MS', 5000, { min: 100, max: 600_000 }),
    },
    scraper: readScraperConfig(r),
    llm: {
      url: r.url('DROVER_LLM_URL', ['http', 'https']),
      model: r.string('DROVER_LLM_MODEL', 'gpt-4o-mini'),
      apiKey: r.string('DROVER_LLM_API_KEY'),
    },
    memory: memoryConfig(r),
    telemetry: telemetryConfig(r),
  };
}

/**
 * Traces go out when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER asks for an exporter; OTEL_SDK_DISABLED
 * and OTEL_TRACES_EXPORTER=none turn them off, as in every OpenTelemetry SDK.
 */
function telemetryConfig(r: EnvReader): TelemetryConfig {
  const exporter = r.oneOf('OTEL_TRACES_EXPORTER', ['otlp', 'console', 'none', ''], '');
  const endpoint = r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http', 'https']) ?? r.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']);
  const disabled = r.bool('OTEL_SDK_DISABLED', false) || exporter === 'none';
  return {
    tracing: !disabled && (exporter === 'otlp' || exporter === 'console' || endpoint !== undefined),
    exporter: exporter === 'console' ? 'console' : 'otlp',
    serviceName: r.string('OTEL_SERVICE_NAME'),
  };
}

function memoryConfig(r: EnvReader): DroverConfig['memory'] {
  const neo4jUrl = r.url('DROVER_NEO4J_URL', ['neo4j', 'neo4j+s', 'neo4j+ssc', 'bolt', 'bolt+s', 'bolt+ssc']);
  const neo4jPassword = r.string('DROVER_NEO4J_PASSWORD');
  if (neo4jUrl && neo4jPassword === undefined) {
    throw configError('DROVER_NEO4J_PASSWORD', '', 'the Neo4j password (or DROVER_NEO4J_PASSWORD_FILE) when DROVER_NEO4J_URL is set');
  }
  return {
    dataDir: r.string('DROVER_DATA_DIR'),
    qdrantUrl: r.url('DROVER_QDRANT_URL', ['http', 'https']),
    qdrantApiKey: r.string('DROVER_QDRANT_API_KEY'),
    embeddingsUrl: r.url('DROVER_EMBEDDINGS_URL', ['http', 'https']),
    embeddingsModel: r.string('DROVER_EMBEDDINGS_MODEL', 'text-embedding-3-small'),
    embeddingsApiKey: r.string('DROVER_EMBEDDINGS_API_KEY'),
    neo4jUrl,
    neo4jUser: r.string('DROVER_NEO4J_USER', 'neo4j'),
    neo4jPassword,
    neo4jDatabase: r.string('DROVER_NEO4J_DATABASE'),
  };
}

function names(r: EnvReader, variable: string, fallback: string[]): string[] {
  const list = r.list(variable, fallback);
  if (list.length === 0) throw configError(variable, '', 'a comma-separated list of at least one name');
  for (const n of list) {
    if (!NAME_RE.test(n)) throw configError(variable, n, 'names of lowercase letters, digits, - and _ (starting with a letter, up to 64)');
  }
  return [...new Set(list)];
}

/** DROVER_REDIS_URL: redis:// or rediss:// (one server), or redis+sentinel:// (see redis-url.ts). */
function redisUrlOf(r: EnvReader): string | undefined {
  const name = 'DROVER_REDIS_URL';
  const v = r.raw(name);
  if (v === undefined) return undefined;
  if (!isSentinelUrl(v)) {
    try {
      return r.url(name, ['redis', 'rediss']);
    } catch {
      throw configError(name, redactRedisUrl(v), `a URL with scheme redis or rediss (redis://[user:pass@]host:6379[/db]), or ${SENTINEL_URL_FORM}`);
    }
  }
  try {
    redisOptionsFromUrl(v);
  } catch (err) {
    if (err instanceof RedisUrlError) throw configError(name, redactRedisUrl(v), err.message);
    throw err;
  }
  return v;
}

function prefixOf(r: EnvReader): string {
  const p = r.string('DROVER_PREFIX', 'drover');
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(p)) throw configError('DROVER_PREFIX', p, 'letters, digits, - and _ (up to 32)');
  return p;
}

/**
 * DROVER_API_KEYS="tenant:key,tenant2:sha256:<hex digest>". Plain keys are hashed on load; a
 * digest lets a deployment keep the key itself out of its environment.
 */
/**
 * DROVER_TENANT_LIMITS_FILE: a JSON file of per-tenant limits, `{"acme": {"submitsPerMinute":
 * 600, "maxRunning": 50}, "*": {...}}`, read at start-up; its entries override the same tenants'
 * DROVER_TENANT_SUBMIT_RATE and DROVER_TENANT_MAX_RUNNING pairs.
 */
function tenantLimitsFile(r: EnvReader): { submitsPerMinute: Record<string, number>; maxRunning: Record<string, number> } | undefined {
  const name = 'DROVER_TENANT_LIMITS_FILE';
  const path = r.string(name);
  if (path === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError(name, path, `a readable JSON file (${err instanceof Error ? err.message : String(err)})`);
  }
  const out = { submitsPerMinute: {} as Record<string, number>, maxRunning: {} as Record<string, number> };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw configError(name, path, 'a JSON object of tenant names (or *) to limits');
  for (const [tenant, limits] of Object.entries(parsed)) {
    const where = `${path}: ${JSON.stringify(tenant)}`;
    if (tenant !== '*' && !NAME_RE.test(tenant)) throw configError(name, where, 'lowercase tenant names, or * for every other tenant');
    if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) throw configError(name, where, 'an object such as {"submitsPerMinute": 600, "maxRunning": 50}');
    for (const [key, value] of Object.entries(limits)) {
      if (key !== 'submitsPerMinute' && key !== 'maxRunning') throw configError(name, `${where}.${key}`, 'only submitsPerMinute and maxRunning');
      if (!Number.isSafeInteger(value) || (value as number) < 1) throw configError(name, `${where}.${key}`, 'a whole number of at least 1');
      out[key][tenant] = value as number;
    }
  }
  return out;
}

/** `tenant:n` pairs, comma-separated; `*:n` applies to tenants not listed. */
function tenantRates(r: EnvReader, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of r.list(name, [])) {
    const at = item.lastIndexOf(':');
    const tenant = item.slice(0, Math.max(0, at));
    const n = Number(item.slice(at + 1));
    if ((tenant !== '*' && !NAME_RE.test(tenant)) || !/^\d+$/.test(item.slice(at + 1)) || !Number.isSafeInteger(n) || n < 1) {
      throw configError(name, item, 'comma-separated tenant:n pairs (n a whole number of at least 1), with *:n for every other tenant, e.g. acme:600,*:6000');
    }
    out[tenant] = n;
  }
  return out;
}

function apiKeys(r: EnvReader): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  for (const item of r.list('DROVER_API_KEYS', [])) {
    const at = item.indexOf(':');
    const tenant = at > 0 ? item.slice(0, at) : '';
    const secret = at > 0 ? item.slice(at + 1) : '';
    if (!NAME_RE.test(tenant) || secret.length === 0) {
      throw configError('DROVER_API_KEYS', `${tenant || item.slice(0, 8)}:…`, 'comma-separated tenant:key or tenant:sha256:<64 hex> pairs; tenant names are lowercase');
    }
    if (secret.startsWith('sha256:')) {
      const hex = secret.slice(7).toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(hex)) throw configError('DROVER_API_KEYS', `${tenant}:sha256:…`, 'a 64-character hex SHA-256 digest after sha256:');
      entries.push({ tenant, sha256: hex });
    } else {
      if (secret.length < 16) throw configError('DROVER_API_KEYS', `${tenant}:…`, 'keys of at least 16 characters');
      entries.push({ tenant, sha256: sha256Hex(secret) });
    }
  }
  return entries;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
