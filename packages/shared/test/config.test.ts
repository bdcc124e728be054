import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, sha256Hex } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded memory backend with documented defaults', () => {
    const c = loadConfig({});
    expect(c.backend).toBe('memory');
    expect(c.queues).toEqual(['general', 'coding', 'analysis', 'debate', 'scrape']);
    expect(c.worker.concurrency).toBe(3);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080, auth: true, batchMax: 500, bodyLimitBytes: 1_048_576, drainDelayMs: 2000 });
  });

  it('selects bullmq when a Redis URL is given, and rabbitmq by name', () => {
    expect(loadConfig({ DROVER_REDIS_URL: 'redis://127.0.0.1:6379' }).backend).toBe('bullmq');
    expect(loadConfig({ DROVER_REDIS_URL: 'redis://127.0.0.1:6379' }).http.host).toBe('0.0.0.0');
    const r = loadConfig({ DROVER_BACKEND: 'rabbitmq', DROVER_AMQP_URL: 'amqp://127.0.0.1', DROVER_REDIS_URL: 'redis://127.0.0.1' });
    expect(r.backend).toBe('rabbitmq');
  });

  it.each([
    [{ DROVER_WORKER_CONCURRENCY: 'three' }, /DROVER_WORKER_CONCURRENCY="three".*integer from 1 to 10000/],
    [{ DROVER_WORKER_CONCURRENCY: '0' }, /DROVER_WORKER_CONCURRENCY/],
    [{ DROVER_PORT: '70000' }, /DROVER_PORT.*0 to 65535/],
    [{ DROVER_BACKEND: 'kafka' }, /DROVER_BACKEND="kafka".*memory, bullmq, rabbitmq/],
    [{ DROVER_BACKEND: 'bullmq' }, /DROVER_REDIS_URL/],
    [{ DROVER_BACKEND: 'rabbitmq', DROVER_REDIS_URL: 'redis://x' }, /DROVER_AMQP_URL/],
    [{ DROVER_REDIS_URL: 'http://127.0.0.1' }, /DROVER_REDIS_URL.*redis or rediss/],
    [{ DROVER_AUTH: 'maybe' }, /DROVER_AUTH="maybe".*true, false/],
    [{ DROVER_LOG_LEVEL: 'loud' }, /DROVER_LOG_LEVEL.*info/],
    [{ DROVER_QUEUES: 'General Queue' }, /DROVER_QUEUES/],
    [{ DROVER_WORKER_QUEUES: 'nope' }, /DROVER_WORKER_QUEUES="nope".*DROVER_QUEUES/],
    [{ DROVER_API_KEYS: 'acme' }, /DROVER_API_KEYS.*tenant:key/],
    [{ DROVER_API_KEYS: 'acme:short' }, /at least 16 characters/],
    [{ DROVER_API_KEYS: 'acme:sha256:xyz' }, /64-character hex/],
    [{ DROVER_TENANT_SUBMIT_RATE: 'acme:lots' }, /DROVER_TENANT_SUBMIT_RATE.*tenant:n pairs/],
    [{ DROVER_TENANT_SUBMIT_RATE: 'Acme:5' }, /DROVER_TENANT_SUBMIT_RATE/],
    [{ DROVER_TENANT_SUBMIT_RATE: 'acme:0' }, /at least 1/],
    [{ DROVER_MAX_AGENTS: '0' }, /DROVER_MAX_AGENTS/],
    [{ DROVER_POISON_CRASHES: 'x' }, /DROVER_POISON_CRASHES/],
    [{ DROVER_DRAIN_DELAY_MS: '-5' }, /DROVER_DRAIN_DELAY_MS="-5".*0 to 300000/],
  ])('stops start-up on %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toMatchObject({ code: 'DROVER_ERR_CONFIG' });
    }
  });

  it('reads per-tenant limits from DROVER_TENANT_LIMITS_FILE over the env pairs, and refuses a bad file naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-limits-'));
    const file = join(dir, 'limits.json');
    writeFileSync(file, JSON.stringify({ acme: { submitsPerMinute: 600, maxRunning: 50 }, '*': { maxRunning: 5 } }));
    const c = loadConfig({ DROVER_TENANT_LIMITS_FILE: file, DROVER_TENANT_SUBMIT_RATE: 'acme:10,globex:20' });
    expect(c.http.tenantSubmitRate).toEqual({ acme: 600, globex: 20 });
    expect(c.tasks.tenantMaxRunning).toEqual({ acme: 50, '*': 5 });
    for (const [body, message] of [
      ['{"acme": {"submitsPerMinute": 0}}', /acme.*submitsPerMinute.*at least 1/],
      ['{"Acme": {}}', /lowercase tenant names/],
      ['{"acme": {"burst": 3}}', /only submitsPerMinute and maxRunning/],
      ['[1, 2]', /JSON object/],
      ['not json', /readable JSON file/],
    ] as const) {
      writeFileSync(file, body);
      expect(() => loadConfig({ DROVER_TENANT_LIMITS_FILE: file }), body).toThrow(message);
    }
    expect(() => loadConfig({ DROVER_TENANT_LIMITS_FILE: join(dir, 'missing.json') })).toThrow(/DROVER_TENANT_LIMITS_FILE.*readable JSON file/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads any variable from <name>_FILE (mounted secrets), and refuses both or an unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-secrets-'));
    const keys = join(dir, 'api-keys');
    const zenrows = join(dir, 'zenrows');
    writeFileSync(keys, 'acme:0123456789abcdef0123\n');
    writeFileSync(zenrows, 'zr-secret-value-0123\n');
    const c = loadConfig({ DROVER_API_KEYS_FILE: keys, DROVER_ZENROWS_API_KEY_FILE: zenrows });
    expect(c.http.apiKeys).toEqual([{ tenant: 'acme', sha256: sha256Hex('0123456789abcdef0123') }]);
    expect(c.scraper.zenrowsApiKey).toBe('zr-secret-value-0123');
    expect(() => loadConfig({ DROVER_API_KEYS_FILE: keys, DROVER_API_KEYS: 'acme:0123456789abcdef0123' })).toThrow(/either DROVER_API_KEYS or DROVER_API_KEYS_FILE/);
    expect(() => loadConfig({ DROVER_API_KEYS_FILE: join(dir, 'nope') })).toThrow(/DROVER_API_KEYS_FILE.*readable file.*ENOENT/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps only digests of API keys, and accepts digests', () => {
    const c = loadConfig({ DROVER_API_KEYS: `acme:0123456789abcdef0123, globex:sha256:${sha256Hex('x'.repeat(20))}` });
    expect(c.http.apiKeys).toEqual([
      { tenant: 'acme', sha256: sha256Hex('0123456789abcdef0123') },
      { tenant: 'globex', sha256: sha256Hex('x'.repeat(20)) },
    ]);
    expect(JSON.stringify(c)).not.toContain('0123456789abcdef0123');
  });

  it('reads agent memory and tracing settings: embedded and off by default, servers and secrets (from files too) when given', () => {
    const none = loadConfig({});
    expect(none.memory).toMatchObject({ dataDir: undefined, qdrantUrl: undefined, embeddingsUrl: undefined, embeddingsModel: 'text-embedding-3-small', neo4jUrl: undefined, neo4jUser: 'neo4j' });
    expect(none.telemetry.tracing).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'drover-memory-'));
    const password = join(dir, 'neo4j-password');
    writeFileSync(password, 'graph-secret-0123\n');
    const c = loadConfig({
      DROVER_DATA_DIR: dir,
      DROVER_QDRANT_URL: 'http://qdrant:6333',
      DROVER_QDRANT_API_KEY: 'qd-key',
      DROVER_EMBEDDINGS_URL: 'https://embeddings.example/v1',
      DROVER_NEO4J_URL: 'bolt://neo4j:7687',
      DROVER_NEO4J_PASSWORD_FILE: password,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'fleet-a',
    });
    expect(c.memory).toMatchObject({ dataDir: dir, qdrantUrl: 'http://qdrant:6333', qdrantApiKey: 'qd-key', neo4jUrl: 'bolt://neo4j:7687', neo4jPassword: 'graph-secret-0123' });
    expect(c.telemetry).toEqual({ tracing: true, exporter: 'otlp', serviceName: 'fleet-a' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'console' }).telemetry).toMatchObject({ tracing: true, exporter: 'console' });
    expect(() => loadConfig({ DROVER_NEO4J_URL: 'bolt://neo4j:7687' })).toThrow(/DROVER_NEO4J_PASSWORD.*when DROVER_NEO4J_URL is set/);
    expect(() => loadConfig({ DROVER_NEO4J_URL: 'http://neo4j:7474', DROVER_NEO4J_PASSWORD: 'x' })).toThrow(/DROVER_NEO4J_URL.*neo4j or neo4j\+s/);
    expect(() => loadConfig({ DROVER_QDRANT_URL: 'qdrant:6333' })).toThrow(/DROVER_QDRANT_URL/);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER.*otlp, console, none/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('never puts a password from a URL into an error message', () => {
    expect(() => loadConfig({ DROVER_REDIS_URL: 'http://user:hunter2@host' })).toThrow(/\*\*\*/);
    expect(() => loadConfig({ DROVER_REDIS_URL: 'http://user:hunter2@host' })).not.toThrow(/hunter2/);
  });
});
