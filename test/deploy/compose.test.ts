import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@drover/shared';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { loadCompose } from '../support/deploy-files.js';
import { parseEnvFile } from '../support/env-file.js';

const ROOT = resolve(import.meta.dirname, '../..');
const COMPOSE_DIR = resolve(ROOT, 'compose');
const run = promisify(execFile);

// A parsed YAML document, checked field by field below.
type Doc = any;

function seconds(duration: string | undefined): number {
  if (!duration) return 10; // Compose's default stop grace period
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

const SECRET_NAME = /KEY|PASSWORD|PASS\b|TOKEN|SECRET|AUTH$/;
const DROVER_SERVICES = ['orchestrator', 'worker'];
const PROFILES: Record<string, string[]> = { rabbitmq: ['rabbitmq'], observability: ['prometheus', 'grafana'], memory: ['qdrant', 'neo4j'] };

const ajv = new Ajv({ allErrors: true, strict: false });
// The schema names its draft-07 meta-schema by an https URL ajv does not know; it is draft-07.
const { $schema: _draft, ...composeSchema } = JSON.parse(readFileSync(resolve(import.meta.dirname, 'schemas/compose-spec.json'), 'utf8'));
const validateSchema = ajv.compile(composeSchema);

/** Every rule the compose stack keeps, as violations (empty when it is right). */
function composeViolations(doc: Doc, env: Record<string, string>): string[] {
  const out: string[] = [];
  if (!validateSchema(doc)) for (const e of validateSchema.errors ?? []) out.push(`schema: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  const services: Record<string, Doc> = doc.services ?? {};

  const base = Object.keys(services).filter((n) => !services[n].profiles);
  if (base.sort().join() !== 'orchestrator,redis,worker') out.push(`services without a profile must be redis, orchestrator, worker: ${base.join()}`);
  for (const [profile, names] of Object.entries(PROFILES)) {
    for (const n of names) if (!services[n]?.profiles?.includes(profile)) out.push(`profile ${profile} lacks ${n}`);
  }

  for (const [name, s] of Object.entries(services)) {
    const image: string = s.image ?? '';
    if (!/:[\w.-]+$/.test(image) || /:latest$/.test(image)) out.push(`${name}: image not pinned to a tag: ${image}`);
    for (const [dep, how] of Object.entries<Doc>(s.depends_on ?? {})) {
      if (how?.condition !== 'service_healthy') out.push(`${name}: depends_on ${dep} without condition: service_healthy`);
      if (!services[dep]?.healthcheck) out.push(`${name}: depends on ${dep}, which has no healthcheck`);
    }
    for (const [k, v] of Object.entries<Doc>(Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((e: string) => e.split('='))) : (s.environment ?? {}))) {
      if (SECRET_NAME.test(k) && v !== null && v !== '' && !/^\$\{/.test(String(v))) out.push(`${name}: secret ${k} written in the compose file`);
    }
    for (const p of s.ports ?? []) {
      const published = typeof p === 'string' ? p : `${p.host_ip ?? ''}:${p.published ?? ''}:${p.target}`;
      if (!/^127\.0\.0\.1:/.test(published)) out.push(`${name}: host port ${published} not bound to loopback by default`);
    }
  }

  const worker = services.worker ?? {};
  if (worker.ports) out.push('worker: host ports on the scaled service (--scale would collide)');
  if (worker.container_name) out.push('worker: container_name on the scaled service (--scale needs generated names)');
  for (const name of DROVER_SERVICES) {
    const s = services[name] ?? {};
    const files = (s.env_file ?? []).map((f: Doc) => (typeof f === 'string' ? { path: f, required: true } : f));
    if (!files.some((f: Doc) => f.path === 'drover.env')) out.push(`${name}: does not load drover.env`);
    if (!files.some((f: Doc) => f.path === 'secrets.env' && f.required !== false)) out.push(`${name}: does not require secrets.env`);
    if (!/^[1-9]\d*:[1-9]\d*$/.test(String(s.user ?? ''))) out.push(`${name}: not a numeric non-root user`);
    if (s.read_only !== true) out.push(`${name}: root filesystem not read-only`);
    if (!s.cap_drop?.includes('ALL')) out.push(`${name}: capabilities not dropped`);
    if (!s.healthcheck) out.push(`${name}: no healthcheck`);
    if (!s.build?.dockerfile || !existsSync(resolve(COMPOSE_DIR, s.build.context ?? '.', s.build.dockerfile))) out.push(`${name}: build.dockerfile not found`);
  }
  const grace = Number(env.DROVER_SHUTDOWN_GRACE_MS) / 1000;
  if (!(seconds(worker.stop_grace_period) > grace)) out.push(`worker: stop_grace_period ${worker.stop_grace_period} not above DROVER_SHUTDOWN_GRACE_MS (${grace} s)`);
  const drain = Number(env.DROVER_DRAIN_DELAY_MS) / 1000;
  if (!(seconds(services.orchestrator?.stop_grace_period) > drain)) out.push(`orchestrator: stop_grace_period not above DROVER_DRAIN_DELAY_MS (${drain} s)`);

  const redis = services.redis ?? {};
  const command = (redis.command ?? []).join(' ');
  if (!/--appendonly yes/.test(command)) out.push('redis: AOF (--appendonly yes) is off');
  if (!(redis.volumes ?? []).some((v: string) => /^[\w-]+:\/data$/.test(v))) out.push('redis: /data is not on a named volume');

  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const src = String(v).split(':')[0] ?? '';
      if (src.startsWith('.') && !existsSync(resolve(COMPOSE_DIR, src))) out.push(`${name}: mounts ${src}, which does not exist`);
    }
  }
  return out;
}

const driverEnv = () => parseEnvFile(readFileSync(resolve(COMPOSE_DIR, 'drover.env'), 'utf8'));

describe('the compose stack (compose/compose.yaml)', () => {
  it('is valid against the Compose Specification schema and follows every rule', () => {
    expect(composeViolations(loadCompose(), driverEnv())).toEqual([]);
  });

  it('drover.env is a configuration Drover accepts, and holds no secrets', () => {
    const env = driverEnv();
    expect(Object.keys(env).filter((k) => SECRET_NAME.test(k))).toEqual([]);
    // The settings load as they would in the containers (plus the API key from secrets.env).
    const config = loadConfig({ ...env, DROVER_API_KEYS: 'acme:0123456789abcdef' });
    expect(config.backend).toBe('bullmq');
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.http.port).toBe(8080);
    expect(config.worker.port).toBe(9090);
  });

  it('secrets.env is never committed, and secrets.env.example lists its keys without values', () => {
    expect(execFileSync('git', ['check-ignore', 'compose/secrets.env'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('compose/secrets.env');
    expect(execFileSync('git', ['ls-files', 'compose'], { cwd: ROOT, encoding: 'utf8' })).not.toMatch(/secrets\.env\n/);
    const example = parseEnvFile(readFileSync(resolve(COMPOSE_DIR, 'secrets.env.example'), 'utf8'));
    expect(Object.keys(example)).toEqual(expect.arrayContaining(['DROVER_API_KEYS', 'DROVER_ZENROWS_API_KEY', 'DROVER_AMQP_URL', 'GF_SECURITY_ADMIN_PASSWORD', 'NEO4J_AUTH']));
    expect(Object.entries(example).filter(([, v]) => v !== '')).toEqual([]);
  });

  it('the Prometheus config of the observability profile passes promtool check config, with the rule files where the volumes put them', async () => {
    const doc = loadCompose();
    const dir = mkdtempSync(resolve(tmpdir(), 'drover-compose-prom-'));
    try {
      // Lay the files out as the prometheus service's volumes do under /etc/prometheus.
      for (const v of doc.services.prometheus.volumes as string[]) {
        const [src, dest] = v.split(':') as [string, string];
        if (!dest.startsWith('/etc/prometheus/')) continue;
        const to = resolve(dir, dest.slice('/etc/prometheus/'.length));
        mkdirSync(dirname(to), { recursive: true });
        cpSync(resolve(COMPOSE_DIR, src), to);
      }
      const { stdout } = await run('promtool', ['check', 'config', resolve(dir, 'prometheus.yml')]);
      expect(stdout).toContain('SUCCESS');
      expect(stdout.match(/SUCCESS: \d+ rules found/g)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Each rule shown to fail on a broken copy of the file.
  const text = readFileSync(resolve(COMPOSE_DIR, 'compose.yaml'), 'utf8');
  const broken: [string, (d: Doc) => void, string][] = [
    ['an unknown field', (d) => { d.services.worker.healthchek = d.services.worker.healthcheck; }, 'schema: /services/worker must NOT have additional properties'],
    ['a fixed host port on the worker', (d) => { d.services.worker.ports = ['9090:9090']; }, 'worker: host ports'],
    ['a worker container_name', (d) => { d.services.worker.container_name = 'worker'; }, 'container_name'],
    ['depends_on without health', (d) => { d.services.worker.depends_on.redis.condition = 'service_started'; }, 'worker: depends_on redis without condition: service_healthy'],
    ['a dependency without a healthcheck', (d) => { delete d.services.redis.healthcheck; }, 'which has no healthcheck'],
    ['a latest image', (d) => { d.services.redis.image = 'redis:latest'; }, 'redis: image not pinned'],
    ['AOF off', (d) => { d.services.redis.command = ['redis-server']; }, 'AOF'],
    ['a secret in the file', (d) => { d.services.orchestrator.environment.DROVER_ZENROWS_API_KEY = 'zr-123'; }, 'secret DROVER_ZENROWS_API_KEY'],
    ['secrets.env optional', (d) => { d.services.worker.env_file[1].required = false; }, 'worker: does not require secrets.env'],
    ['a root worker', (d) => { d.services.worker.user = '0:0'; }, 'worker: not a numeric non-root user'],
    ['a short worker grace period', (d) => { d.services.worker.stop_grace_period = '10s'; }, 'not above DROVER_SHUTDOWN_GRACE_MS'],
    ['a public host port', (d) => { d.services.orchestrator.ports = ['8080:8080']; }, 'not bound to loopback'],
    ['a missing mount', (d) => { d.services.prometheus.volumes[0] = './nope.yml:/etc/prometheus/prometheus.yml:ro'; }, 'mounts ./nope.yml'],
  ];
  for (const [what, mutate, message] of broken) {
    it(`a compose file with ${what} is refused`, () => {
      const doc = loadCompose(stringifyYaml(loadCompose(text)));
      mutate(doc);
      expect(composeViolations(doc, driverEnv()).join('\n')).toContain(message);
    });
  }
});
