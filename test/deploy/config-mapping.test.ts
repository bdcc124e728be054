import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompose, renderKustomize } from '../support/deploy-files.js';
import { parseEnvFile } from '../support/env-file.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');

/** What a compose service's container sees: its env files, then its `environment` (at defaults). */
function composeEnv(service: string): Record<string, string> {
  const environment = Object.fromEntries(Object.entries<unknown>(loadCompose().services[service]?.environment ?? {}).map(([k, v]) => [k, String(v)]));
  return { ...parseEnvFile(read('compose/drover.env')), ...environment };
}

/** What a Kubernetes container sees from the rendered base: the drover-config ConfigMap, then its literal env. */
function kubernetesEnv(deployment: string): Record<string, string> {
  const docs = renderKustomize('k8s/base');
  const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('drover-config'));
  const pod = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === deployment)?.spec.template.spec;
  expect(pod, `Deployment ${deployment}`).toBeDefined();
  const container = pod.containers[0];
  const literal = Object.fromEntries((container.env ?? []).filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
  return { ...config.data, ...literal };
}

/** The documented differences: docs/compose.md's "values that differ" table. */
function documentedDifferences(): Record<string, { compose: string; kubernetes: string }> {
  const doc = read('docs/compose.md');
  const table = doc.slice(doc.indexOf('| variable | compose | Kubernetes | why |'));
  const rows = table.split('\n').slice(2).filter((l) => l.startsWith('| `'));
  return Object.fromEntries(
    rows.map((r) => {
      const [name, compose, kubernetes] = r.split('|').slice(1, 4).map((c) => c.trim().replace(/^`|`$/g, '')) as [string, string, string];
      return [name, { compose, kubernetes }];
    }),
  );
}

function differences(a: Record<string, string>, b: Record<string, string>): Record<string, { compose: string; kubernetes: string }> {
  const out: Record<string, { compose: string; kubernetes: string }> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[k] !== b[k]) out[k] = { compose: a[k] ?? '(unset)', kubernetes: b[k] ?? '(unset)' };
  }
  return out;
}

/** Moving from compose to Kubernetes keeps every setting but the ones docs/compose.md lists. */
describe('compose and Kubernetes configure Drover with the same variables', () => {
  it('the orchestrator sees the same settings on both, except the documented differences', () => {
    expect(differences(composeEnv('orchestrator'), kubernetesEnv('drover-orchestrator'))).toEqual(documentedDifferences());
  });

  it('a worker sees the same settings, except the documented ones and its one queue on Kubernetes', () => {
    for (const queue of ['general', 'scrape']) {
      const k8s = kubernetesEnv(`drover-worker-${queue}`);
      expect(k8s['DROVER_WORKER_QUEUES']).toBe(queue);
      const { DROVER_WORKER_QUEUES: _perDeployment, ...rest } = k8s;
      expect(differences(composeEnv('worker'), rest)).toEqual(documentedDifferences());
    }
  });

  it('the secrets have the same names on both (compose/secrets.env and the drover-secrets Secret)', () => {
    const compose = Object.keys(parseEnvFile(read('compose/secrets.env.example'))).filter((k) => k.startsWith('DROVER_'));
    const k8s = Object.keys(parseEnvFile(read('k8s/base/secrets.env.example')));
    expect(compose.sort()).toEqual(k8s.sort());
  });

  it('the servers beside Drover run the same images on both', () => {
    const doc = loadCompose();
    const compose = Object.fromEntries(['redis', 'rabbitmq', 'qdrant', 'neo4j'].map((s) => [s, doc.services[s].image as string]));
    const images = new Set<string>();
    for (const overlay of ['test/deploy/fixtures/k8s/prod-rabbitmq', 'test/deploy/fixtures/k8s/prod-memory']) {
      for (const [, image] of JSON.stringify(renderKustomize(overlay)).matchAll(/"image":"([^"]+)"/g)) images.add(image!);
    }
    for (const [service, image] of Object.entries(compose)) {
      expect([...images].filter((i) => i.split(':')[0] === image.split(':')[0]), service).toEqual([image]);
    }
  });

  it('the comparison can fail: an undocumented difference is reported', () => {
    const compose = { ...composeEnv('orchestrator'), DROVER_METRICS_CACHE_MS: '5000' };
    expect(differences(compose, kubernetesEnv('drover-orchestrator'))).toMatchObject({ DROVER_METRICS_CACHE_MS: { compose: '5000', kubernetes: '1000' } });
  });
});
