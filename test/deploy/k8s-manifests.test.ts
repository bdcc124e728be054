import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { scalingQuery } from '@drover/shared';
// The 1.32 field list of every built-in kind: client-node 1.0.0 is generated from the
// Kubernetes v1.32.0 OpenAPI document, and each model lists its fields and their types.
import * as k8sModels from '@kubernetes/client-node/dist/gen/models/all.js';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderKustomize } from '../support/deploy-files.js';

/**
 * The Kubernetes manifests (k8s/): every overlay is rendered with `kubectl kustomize` (no
 * cluster, no network) and held to the schema and to Drover's own rules. Each rule is a function
 * returning violations; the rendered overlays must give none, and a mutated copy must give the
 * exact violation, so every rule is shown to be able to fail.
 */

const ROOT = resolve(import.meta.dirname, '../..');

type Obj = Record<string, any>;
interface K8s extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

const OVERLAYS = ['dev', 'prod', 'prod-keda', 'region-eu', 'region-us'] as const;
type Overlay = (typeof OVERLAYS)[number];
const PROD: readonly Overlay[] = ['prod', 'prod-keda', 'region-eu', 'region-us'];
const REGION: Partial<Record<Overlay, string>> = { 'region-eu': 'eu', 'region-us': 'us' };
const autoscalerOf = (o: Overlay): 'hpa' | 'keda' => (o === 'prod-keda' ? 'keda' : 'hpa');

const render = (overlay: string) => renderKustomize(`k8s/overlays/${overlay}`) as K8s[];
const rendered = new Map<Overlay, K8s[]>(OVERLAYS.map((o) => [o, render(o)]));
/** A fresh copy of an overlay's objects, to mutate. */
const fresh = (o: Overlay): K8s[] => structuredClone(rendered.get(o)!);

const id = (d: K8s) => `${d.kind}/${d.metadata.name}`;
const ofKind = (docs: K8s[], kind: string) => docs.filter((d) => d.kind === kind);
const component = (d: K8s) => d.metadata.labels?.['app.kubernetes.io/component'];
const workers = (docs: K8s[]) => ofKind(docs, 'Deployment').filter((d) => component(d) === 'worker');
const orchestrators = (docs: K8s[]) => ofKind(docs, 'Deployment').filter((d) => component(d) === 'orchestrator');

/** The drover-config ConfigMap (its name carries kustomize's hash suffix). */
function droverConfig(docs: K8s[]): Record<string, string> {
  const cm = ofKind(docs, 'ConfigMap').find((d) => /^drover-config(-[a-z0-9]+)?$/.test(d.metadata.name));
  if (!cm) throw new Error('no drover-config ConfigMap');
  return cm.data ?? {};
}
const num = (cfg: Record<string, string>, key: string, fallback: number) => (cfg[key] === undefined ? fallback : Number(cfg[key]));

interface PodTemplate {
  owner: K8s;
  labels: Record<string, string>;
  spec: Obj;
}
function podTemplates(docs: K8s[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const d of docs) {
    const t = d.kind === 'CronJob' ? d.spec?.jobTemplate?.spec?.template : ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(d.kind) ? d.spec?.template : undefined;
    if (t) out.push({ owner: d, labels: t.metadata?.labels ?? {}, spec: t.spec ?? {} });
  }
  return out;
}
const containersOf = (t: PodTemplate): Obj[] => [...(t.spec.initContainers ?? []), ...(t.spec.containers ?? [])];
const envOf = (c: Obj, name: string): string | undefined => c.env?.find((e: Obj) => e.name === name)?.value;

// ---------------------------------------------------------------------------------------------
// a. Schema, strict.
//
// Built-in kinds are checked twice: kubernetes-models' validators (generated from the OpenAPI
// document: required fields, types, enums, formats) do not reject unknown fields, so a walk over
// client-node 1.0.0's models (the v1.32.0 OpenAPI document: every field of every kind, with its
// type) rejects any field Kubernetes 1.32 does not have, and any value of the wrong type, at any
// depth (`readinessprobe:`, `replica:`, `cpu: [1]`). The CRDs (KEDA ScaledObject, ServiceMonitor,
// PrometheusRule) are validated by the @kubernetes-models CRD validators: required fields and
// types, but their schemas allow unknown fields, so the project rules below check the fields
// Drover relies on. An apiVersion/kind with no schema at all is a violation.

const BUILTIN: Record<string, Record<string, any>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
};
const CRD: Record<string, Record<string, any>> = { 'keda.sh/v1alpha1': kedaV1alpha1, 'monitoring.coreos.com/v1': monitoringV1 };
const MODELS = k8sModels as unknown as Record<string, { attributeTypeMap?: { baseName: string; type: string }[] } | undefined>;
/** Quantities ("1", 1, "512Mi") are strings in the models but the API also takes numbers. */
const QUANTITY_MAPS = new Set(['limits', 'requests', 'capacity', 'hard']);
const QUANTITY_FIELDS = new Set(['sizeLimit', 'storage']);

/** apps/v1 Deployment -> V1Deployment, autoscaling/v2 HorizontalPodAutoscaler -> V2HorizontalPodAutoscaler. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop()!;
  return `V${version.slice(1)}${kind}`;
}

/** Checks `value` against the model type `type` (a client-node type string), into `out`. */
function walk(value: unknown, type: string, path: string, out: string[], field = ''): void {
  const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  const bad = (want: string) => {
    out.push(`${path}: expected ${want}, got ${JSON.stringify(value)}`);
  };
  if (value === null || value === undefined || type === 'any') return;
  if (type === 'string' || type === 'Date' || type === 'V1MicroTime') {
    if (typeof value !== 'string' && !(typeof value === 'number' && QUANTITY_FIELDS.has(field))) bad('a string');
    return;
  }
  if (type === 'number') {
    if (typeof value !== 'number') bad('a number');
    return;
  }
  if (type === 'boolean') {
    if (typeof value !== 'boolean') bad('a boolean');
    return;
  }
  if (type === 'IntOrString') {
    if (typeof value !== 'string' && !Number.isInteger(value)) bad('an integer or a string');
    return;
  }
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) bad('a list');
    else for (const [i, v] of value.entries()) walk(v, array[1]!, `${path}[${i}]`, out);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isObject(value)) {
      bad('a map');
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (map[1] === 'string' && QUANTITY_MAPS.has(field) && typeof v === 'number') continue;
      walk(v, map[1]!, `${path}.${k}`, out);
    }
    return;
  }
  const model = MODELS[type];
  if (!model?.attributeTypeMap) {
    out.push(`${path}: no model ${type}`);
    return;
  }
  if (!isObject(value)) {
    bad(`an object (${type})`);
    return;
  }
  const fields = new Map(model.attributeTypeMap.map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = fields.get(k);
    const at = path ? `${path}.${k}` : k;
    if (t === undefined) out.push(`unknown field ${at}`);
    else walk(v, t, at, out, k);
  }
}

function schemaViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    const name = `${d.kind}/${d.metadata?.name}`;
    const builtin = BUILTIN[d.apiVersion]?.[d.kind];
    const crd = CRD[d.apiVersion]?.[d.kind];
    const Model = builtin ?? crd;
    if (!Model) {
      out.push(`${name}: no schema for ${d.apiVersion} ${d.kind}`);
      continue;
    }
    try {
      new Model(d).validate();
    } catch (err) {
      out.push(`${name}: ${(err as Error).message}`);
    }
    if (builtin) {
      const found: string[] = [];
      walk(d, modelName(d.apiVersion, d.kind), '', found);
      out.push(...found.map((f) => `${name}: ${f}`));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// b. Project rules.

/** Two or more orchestrators (in production), a PDB over them, spread over zones and nodes. */
function orchestratorViolations(docs: K8s[], opts: { prod: boolean }): string[] {
  const out: string[] = [];
  const deployments = orchestrators(docs);
  if (deployments.length !== 1) out.push(`expected one orchestrator Deployment, found ${deployments.length}`);
  for (const d of deployments) {
    if (opts.prod && !((d.spec.replicas ?? 1) >= 2)) out.push(`${id(d)}: replicas ${d.spec.replicas ?? 1} < 2`);
    const keys = (d.spec.template.spec.topologySpreadConstraints ?? []).map((c: Obj) => c.topologyKey);
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      if (!keys.includes(key)) out.push(`${id(d)}: no topologySpreadConstraint over ${key}`);
    }
    const labels = d.spec.template.metadata.labels;
    const pdbs = ofKind(docs, 'PodDisruptionBudget').filter((p) => selects(p.spec.selector, labels));
    if (pdbs.length === 0) out.push(`${id(d)}: no PodDisruptionBudget selects its pods`);
  }
  return out;
}

function securityValue(t: PodTemplate, c: Obj, key: string): unknown {
  return c.securityContext?.[key] ?? t.spec.securityContext?.[key];
}
/** Pinned: a tag other than latest, or a digest. */
function imagePinned(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest';
}

/** Every container: restricted securityContext, requests and limits, a pinned image. */
function containerViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  for (const t of podTemplates(docs)) {
    for (const c of containersOf(t)) {
      const at = `${id(t.owner)} container ${c.name}`;
      if (securityValue(t, c, 'runAsNonRoot') !== true) out.push(`${at}: runAsNonRoot is not true`);
      const uid = securityValue(t, c, 'runAsUser');
      if (typeof uid !== 'number' || uid === 0) out.push(`${at}: runs as root (runAsUser ${uid ?? 'unset'})`);
      if (c.securityContext?.readOnlyRootFilesystem !== true) out.push(`${at}: readOnlyRootFilesystem is not true`);
      if (c.securityContext?.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
      if (!(c.securityContext?.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities do not drop ALL`);
      if ((securityValue(t, c, 'seccompProfile') as Obj | undefined)?.type !== 'RuntimeDefault') out.push(`${at}: seccompProfile is not RuntimeDefault`);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[r] === undefined) out.push(`${at}: no ${kind}.${r}`);
        }
      }
      if (!imagePinned(String(c.image))) out.push(`${at}: image ${c.image} is not pinned to a tag or digest`);
    }
  }
  return out;
}

/** Liveness never on /readyz (a Redis outage would restart every pod); orchestrator: /healthz. */
function probeViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  for (const t of podTemplates(docs)) {
    for (const c of containersOf(t)) {
      const at = `${id(t.owner)} container ${c.name}`;
      for (const probe of ['livenessProbe', 'startupProbe']) {
        if (c[probe]?.httpGet?.path === '/readyz') out.push(`${at}: ${probe} on /readyz`);
      }
      if (t.owner.kind !== 'CronJob' && !c.livenessProbe) out.push(`${at}: no livenessProbe`);
      if (t.owner.kind !== 'CronJob' && !c.readinessProbe) out.push(`${at}: no readinessProbe`);
      if (component(t.owner) === 'orchestrator' || component(t.owner) === 'worker') {
        if (c.livenessProbe?.httpGet?.path !== '/healthz') out.push(`${at}: livenessProbe is not on /healthz`);
        if (c.startupProbe?.httpGet?.path !== '/healthz') out.push(`${at}: startupProbe is not on /healthz`);
        if (c.readinessProbe?.httpGet?.path !== '/readyz') out.push(`${at}: readinessProbe is not on /readyz`);
      }
    }
  }
  return out;
}

/** Seconds a preStop hook sleeps: the native sleep action, or exec sleep N. */
function preStopSeconds(c: Obj): number | undefined {
  const pre = c.lifecycle?.preStop;
  if (pre?.sleep) return Number(pre.sleep.seconds);
  const cmd: string[] = pre?.exec?.command ?? [];
  const sleep = /^(?:\/bin\/|\/usr\/bin\/)?sleep$/.test(cmd[0] ?? '') ? cmd[1] : /^sleep (\d+)$/.exec(cmd[2] ?? '')?.[1];
  return sleep === undefined ? undefined : Number(sleep);
}

/** The shutdown timings fit the settings in drover-config. */
function shutdownViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  const cfg = droverConfig(docs);
  const drainMs = num(cfg, 'DROVER_DRAIN_DELAY_MS', 2000);
  const waitMaxMs = num(cfg, 'DROVER_WAIT_MAX_MS', 60_000);
  const graceMs = num(cfg, 'DROVER_SHUTDOWN_GRACE_MS', 30_000);
  for (const d of orchestrators(docs)) {
    const spec = d.spec.template.spec;
    const c = spec.containers[0];
    const sleep = preStopSeconds(c);
    if (sleep === undefined) out.push(`${id(d)}: no preStop sleep`);
    else if (sleep * 1000 < drainMs) out.push(`${id(d)}: preStop sleep ${sleep}s < DROVER_DRAIN_DELAY_MS ${drainMs}ms`);
    const needMs = (sleep ?? 0) * 1000 + drainMs + waitMaxMs;
    const tgps = spec.terminationGracePeriodSeconds ?? 30;
    if (tgps * 1000 <= needMs) out.push(`${id(d)}: terminationGracePeriodSeconds ${tgps} <= preStop + drain + longest request (${needMs / 1000}s)`);
  }
  for (const d of workers(docs)) {
    const tgps = d.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    if (tgps * 1000 <= graceMs) out.push(`${id(d)}: terminationGracePeriodSeconds ${tgps} <= DROVER_SHUTDOWN_GRACE_MS/1000 (${graceMs / 1000})`);
  }
  return out;
}

/** The behavior every worker autoscaler uses: the HPA template's (k8s/base/worker/hpa.yaml). */
const BEHAVIOR = parseYaml(readFileSync(resolve(ROOT, 'k8s/base/worker/hpa.yaml'), 'utf8')).spec.behavior;

/**
 * One worker Deployment per queue, serving that queue only, with no replicas field and exactly
 * one autoscaler (an HPA, or a KEDA ScaledObject) on that queue's backlog.
 */
function workerViolations(docs: K8s[], autoscaler: 'hpa' | 'keda'): string[] {
  const out: string[] = [];
  const cfg = droverConfig(docs);
  const queues = (cfg.DROVER_QUEUES ?? '').split(',').map((q) => q.trim());
  const concurrency = num(cfg, 'DROVER_WORKER_CONCURRENCY', 3);
  const served = new Set<string>();
  const hpas = ofKind(docs, 'HorizontalPodAutoscaler');
  const scaled = ofKind(docs, 'ScaledObject');
  for (const d of workers(docs)) {
    if ('replicas' in d.spec) out.push(`${id(d)}: has a replicas field (its autoscaler owns it)`);
    const q = envOf(d.spec.template.spec.containers[0], 'DROVER_WORKER_QUEUES');
    if (q === undefined || !queues.includes(q)) {
      out.push(`${id(d)}: DROVER_WORKER_QUEUES ${q ?? 'unset'} is not one queue of DROVER_QUEUES`);
      continue;
    }
    served.add(q);
    const myHpas = hpas.filter((h) => h.spec.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef?.name === d.metadata.name);
    const mySos = scaled.filter((s) => (s.spec.scaleTargetRef?.kind ?? 'Deployment') === 'Deployment' && s.spec.scaleTargetRef?.name === d.metadata.name);
    const [mine, others] = autoscaler === 'hpa' ? [myHpas, mySos] : [mySos, myHpas];
    if (mine.length !== 1) out.push(`${id(d)}: ${mine.length} ${autoscaler === 'hpa' ? 'HPAs' : 'ScaledObjects'} target it, expected 1`);
    if (others.length !== 0) out.push(`${id(d)}: also targeted by ${others.map(id).join(', ')}`);
    for (const h of autoscaler === 'hpa' ? mine : []) {
      const m = h.spec.metrics ?? [];
      const ext = m[0]?.external;
      if (m.length !== 1 || m[0].type !== 'External' || ext?.metric?.name !== 'drover_queue_backlog') out.push(`${id(h)}: metric is not the External drover_queue_backlog`);
      else if (ext.metric.selector?.matchLabels?.queue !== q || ext.metric.selector?.matchExpressions) out.push(`${id(h)}: metric selects queue ${ext.metric.selector?.matchLabels?.queue}, not ${q}`);
      if (ext?.target?.type !== 'AverageValue' || String(ext?.target?.averageValue) !== String(concurrency)) out.push(`${id(h)}: target is not AverageValue ${concurrency} (DROVER_WORKER_CONCURRENCY)`);
      if ((h.spec.minReplicas ?? 1) > h.spec.maxReplicas) out.push(`${id(h)}: minReplicas ${h.spec.minReplicas} > maxReplicas ${h.spec.maxReplicas}`);
      if (!isDeepStrictEqual(h.spec.behavior, BEHAVIOR)) out.push(`${id(h)}: behavior differs from k8s/base/worker/hpa.yaml`);
    }
    for (const s of autoscaler === 'keda' ? mine : []) {
      const triggers = s.spec.triggers ?? [];
      const md = triggers[0]?.metadata ?? {};
      if (triggers.length !== 1 || triggers[0].type !== 'prometheus') out.push(`${id(s)}: expected one prometheus trigger`);
      if (md.query !== scalingQuery(q)) out.push(`${id(s)}: query ${JSON.stringify(md.query)} is not ${JSON.stringify(scalingQuery(q))}`);
      if (md.ignoreNullValues !== 'false') out.push(`${id(s)}: ignoreNullValues is ${JSON.stringify(md.ignoreNullValues)}, not "false"`);
      if (md.threshold !== String(concurrency)) out.push(`${id(s)}: threshold ${JSON.stringify(md.threshold)} is not "${concurrency}" (DROVER_WORKER_CONCURRENCY)`);
      if (!md.serverAddress) out.push(`${id(s)}: no serverAddress`);
      if (!(s.spec.fallback?.failureThreshold > 0 && s.spec.fallback?.replicas > 0)) out.push(`${id(s)}: no fallback`);
      if ((s.spec.minReplicaCount ?? 0) > (s.spec.maxReplicaCount ?? 100)) out.push(`${id(s)}: minReplicaCount > maxReplicaCount`);
      if (!isDeepStrictEqual(s.spec.advanced?.horizontalPodAutoscalerConfig?.behavior, BEHAVIOR)) out.push(`${id(s)}: behavior differs from the HPA's (k8s/base/worker/hpa.yaml)`);
    }
  }
  for (const q of queues) if (!served.has(q)) out.push(`queue ${q}: no worker Deployment`);
  if (autoscaler === 'keda' && hpas.length > 0) out.push(`HPAs left beside the ScaledObjects: ${hpas.map(id).join(', ')}`);
  return out;
}

const SECRET_NAME = /KEY|PASSWORD|TOKEN|SECRET/i;

/** No secret value anywhere in the manifests. */
function secretViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  for (const s of ofKind(docs, 'Secret')) {
    if (Object.keys(s.data ?? {}).length > 0 || Object.keys(s.stringData ?? {}).length > 0) out.push(`${id(s)}: carries data (create Secrets out of band)`);
  }
  for (const cm of ofKind(docs, 'ConfigMap')) {
    for (const k of Object.keys(cm.data ?? {})) if (SECRET_NAME.test(k)) out.push(`${id(cm)}: key ${k} looks secret`);
  }
  for (const t of podTemplates(docs)) {
    for (const c of containersOf(t)) {
      for (const e of c.env ?? []) {
        if (SECRET_NAME.test(e.name) && e.value !== undefined) out.push(`${id(t.owner)} container ${c.name}: env ${e.name} has a literal value`);
      }
    }
  }
  return out;
}

function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In' ? has && e.values.includes(labels[e.key]) : e.operator === 'NotIn' ? !has || !e.values.includes(labels[e.key]) : e.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

/** Every selector selects something: Services, NetworkPolicies, PDBs, ServiceMonitors. */
function selectorViolations(docs: K8s[]): string[] {
  const out: string[] = [];
  const pods = podTemplates(docs);
  const anyPod = (sel: Obj) => pods.some((p) => selects(sel, p.labels));
  for (const d of podTemplates(docs)) {
    if (d.owner.spec.selector && !selects(d.owner.spec.selector, d.labels)) out.push(`${id(d.owner)}: selector does not match its own pod template`);
  }
  for (const s of ofKind(docs, 'Service')) {
    if (!s.spec.selector || !anyPod({ matchLabels: s.spec.selector })) out.push(`${id(s)}: selector matches no pod template`);
  }
  for (const p of ofKind(docs, 'PodDisruptionBudget')) if (!anyPod(p.spec.selector)) out.push(`${id(p)}: selector matches no pod template`);
  for (const np of ofKind(docs, 'NetworkPolicy')) {
    if (!anyPod(np.spec.podSelector)) out.push(`${id(np)}: podSelector matches no pod template`);
    for (const rule of np.spec.ingress ?? []) {
      for (const from of rule.from ?? []) {
        if (from.podSelector && !from.namespaceSelector && !anyPod(from.podSelector)) out.push(`${id(np)}: ingress from a podSelector that matches no pod template`);
      }
    }
  }
  for (const sm of ofKind(docs, 'ServiceMonitor')) {
    const services = ofKind(docs, 'Service').filter((s) => selects(sm.spec.selector, s.metadata.labels ?? {}));
    if (services.length === 0) out.push(`${id(sm)}: selector matches no Service`);
    for (const ep of sm.spec.endpoints ?? []) {
      if (!services.some((s) => s.spec.ports.some((p: Obj) => p.name === ep.port))) out.push(`${id(sm)}: no selected Service has a port named ${ep.port}`);
    }
  }
  return out;
}

const RULE_FILES = ['deploy/prometheus/drover-rules.yml', 'deploy/prometheus/drover-alerts.yml'];
const ruleGroups = RULE_FILES.flatMap((f) => parseYaml(readFileSync(resolve(ROOT, f), 'utf8')).groups);

/** The PrometheusRule carries exactly the groups of deploy/prometheus/*.yml. */
function prometheusRuleViolations(docs: K8s[]): string[] {
  const rules = ofKind(docs, 'PrometheusRule');
  if (rules.length !== 1) return [`expected one PrometheusRule, found ${rules.length}`];
  return isDeepStrictEqual(rules[0]!.spec.groups, ruleGroups) ? [] : [`${id(rules[0]!)}: groups differ from ${RULE_FILES.join(' + ')}`];
}

function regionViolations(docs: K8s[], region: string): string[] {
  const got = droverConfig(docs).DROVER_REGION;
  return got === region ? [] : [`drover-config: DROVER_REGION is ${got}, not ${region}`];
}

function allViolations(o: Overlay, docs: K8s[]): string[] {
  const region = REGION[o];
  return [
    ...schemaViolations(docs),
    ...orchestratorViolations(docs, { prod: PROD.includes(o) }),
    ...containerViolations(docs),
    ...probeViolations(docs),
    ...shutdownViolations(docs),
    ...workerViolations(docs, autoscalerOf(o)),
    ...secretViolations(docs),
    ...selectorViolations(docs),
    ...prometheusRuleViolations(docs),
    ...(region ? regionViolations(docs, region) : []),
  ];
}

describe('k8s overlays render and pass every check', () => {
  for (const o of OVERLAYS) {
    it(`${o}: no violations`, () => {
      const docs = rendered.get(o)!;
      expect(docs.length).toBeGreaterThan(20);
      expect(allViolations(o, docs)).toEqual([]);
    });
  }

  it('every overlay holds the five worker pools and the objects the docs promise', () => {
    for (const o of OVERLAYS) {
      const docs = rendered.get(o)!;
      expect(workers(docs).map((d) => d.metadata.name).sort(), o).toEqual(['analysis', 'coding', 'debate', 'general', 'scrape'].map((q) => `drover-worker-${q}`));
      expect(ofKind(docs, 'StatefulSet').map((d) => d.metadata.name), o).toContain('drover-redis');
      expect(ofKind(docs, 'Secret'), o).toEqual([]);
    }
    expect(ofKind(rendered.get('prod')!, 'CronJob').map((d) => d.metadata.name)).toEqual(['drover-backup']);
    expect(ofKind(rendered.get('prod')!, 'Ingress').map((d) => d.spec.tls[0].secretName)).toEqual(['drover-tls']);
    expect(ofKind(rendered.get('prod-keda')!, 'ScaledObject')).toHaveLength(5);
    expect(new Set(rendered.get('prod')!.map((d) => d.metadata.namespace))).toEqual(new Set(['drover']));
    expect(new Set(rendered.get('prod-keda')!.map((d) => d.metadata.namespace))).toEqual(new Set(['drover']));
    expect(new Set(rendered.get('dev')!.map((d) => d.metadata.namespace))).toEqual(new Set(['drover-dev']));
  });

  it('the rabbitmq component switches the backend and passes the same checks', () => {
    // Rendered from a fixture overlay (prod + the component), so the component is covered too.
    const docs = render('../../test/deploy/fixtures/k8s/prod-rabbitmq');
    expect(droverConfig(docs).DROVER_BACKEND).toBe('rabbitmq');
    expect(ofKind(docs, 'StatefulSet').map((d) => d.metadata.name).sort()).toEqual(['drover-rabbitmq', 'drover-redis']);
    expect(allViolations('prod', docs)).toEqual([]);
  });

  it('the memory component adds Qdrant and Neo4j, points Drover at them, and passes the same checks', () => {
    const docs = render('../../test/deploy/fixtures/k8s/prod-memory');
    expect(droverConfig(docs)).toMatchObject({ DROVER_QDRANT_URL: 'http://drover-qdrant:6333', DROVER_NEO4J_URL: 'bolt://drover-neo4j:7687' });
    expect(ofKind(docs, 'StatefulSet').map((d) => d.metadata.name).sort()).toEqual(['drover-neo4j', 'drover-qdrant', 'drover-redis']);
    expect(ofKind(docs, 'Service').map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['drover-qdrant', 'drover-neo4j']));
    expect(allViolations('prod', docs)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// c. Each rule fails on a manifest set broken on purpose.

const find = (docs: K8s[], kind: string, name: string): K8s => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`no ${kind}/${name}`);
  return d;
};
const orchestratorContainer = (docs: K8s[]) => find(docs, 'Deployment', 'drover-orchestrator').spec.template.spec.containers[0];

describe('each check reports a broken manifest', () => {
  it('an unknown field (readinessprobe) fails the schema', () => {
    const docs = fresh('prod');
    const c = orchestratorContainer(docs);
    c.readinessprobe = c.readinessProbe;
    delete c.readinessProbe;
    expect(schemaViolations(docs)).toContain('Deployment/drover-orchestrator: unknown field spec.template.spec.containers[0].readinessprobe');
  });

  it('replica: instead of replicas fails the schema', () => {
    const docs = fresh('prod');
    find(docs, 'Deployment', 'drover-orchestrator').spec.replica = 2;
    expect(schemaViolations(docs)).toContain('Deployment/drover-orchestrator: unknown field spec.replica');
  });

  it('a wrong type and a missing required field fail the schema', () => {
    const docs = fresh('prod');
    find(docs, 'Deployment', 'drover-orchestrator').spec.replicas = 'two';
    delete find(docs, 'HorizontalPodAutoscaler', 'drover-worker-general').spec.maxReplicas;
    const found = schemaViolations(docs);
    expect(found).toContain('Deployment/drover-orchestrator: spec.replicas: expected a number, got "two"');
    expect(found.some((v) => v.startsWith('HorizontalPodAutoscaler/drover-worker-general:') && v.includes('maxReplicas'))).toBe(true);
  });

  it('a kind with no schema fails', () => {
    const docs = fresh('prod');
    docs.push({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } });
    expect(schemaViolations(docs)).toContain('Deploymnet/x: no schema for apps/v1 Deploymnet');
  });

  it('a liveness probe on /readyz fails', () => {
    const docs = fresh('prod');
    orchestratorContainer(docs).livenessProbe.httpGet.path = '/readyz';
    const found = probeViolations(docs);
    expect(found).toContain('Deployment/drover-orchestrator container orchestrator: livenessProbe on /readyz');
    expect(found).toContain('Deployment/drover-orchestrator container orchestrator: livenessProbe is not on /healthz');
  });

  it('a root container fails', () => {
    const docs = fresh('prod');
    find(docs, 'Deployment', 'drover-worker-coding').spec.template.spec.containers[0].securityContext.runAsUser = 0;
    expect(containerViolations(docs)).toEqual(['Deployment/drover-worker-coding container worker: runs as root (runAsUser 0)']);
  });

  it('a container without limits, or on :latest, fails', () => {
    const docs = fresh('prod');
    const c = find(docs, 'StatefulSet', 'drover-redis').spec.template.spec.containers[0];
    delete c.resources.limits;
    c.image = 'redis:latest';
    expect(containerViolations(docs)).toEqual([
      'StatefulSet/drover-redis container redis: no limits.cpu',
      'StatefulSet/drover-redis container redis: no limits.memory',
      'StatefulSet/drover-redis container redis: image redis:latest is not pinned to a tag or digest',
    ]);
  });

  it('a worker with replicas fails', () => {
    const docs = fresh('prod');
    find(docs, 'Deployment', 'drover-worker-debate').spec.replicas = 3;
    expect(workerViolations(docs, 'hpa')).toEqual(['Deployment/drover-worker-debate: has a replicas field (its autoscaler owns it)']);
  });

  it('an HPA on the wrong queue fails', () => {
    const docs = fresh('prod');
    find(docs, 'HorizontalPodAutoscaler', 'drover-worker-general').spec.metrics[0].external.metric.selector.matchLabels.queue = 'coding';
    expect(workerViolations(docs, 'hpa')).toEqual(['HorizontalPodAutoscaler/drover-worker-general: metric selects queue coding, not general']);
  });

  it('a worker without its HPA, or with two autoscalers, fails', () => {
    const docs = fresh('prod').filter((d) => !(d.kind === 'HorizontalPodAutoscaler' && d.metadata.name === 'drover-worker-scrape'));
    expect(workerViolations(docs, 'hpa')).toEqual(['Deployment/drover-worker-scrape: 0 HPAs target it, expected 1']);
    const keda = fresh('prod-keda');
    keda.push(find(fresh('prod'), 'HorizontalPodAutoscaler', 'drover-worker-scrape'));
    expect(workerViolations(keda, 'keda')).toEqual([
      'Deployment/drover-worker-scrape: also targeted by HorizontalPodAutoscaler/drover-worker-scrape',
      'HPAs left beside the ScaledObjects: HorizontalPodAutoscaler/drover-worker-scrape',
    ]);
  });

  it('KEDA with ignoreNullValues "true", or a query other than scalingQuery(), fails', () => {
    const docs = fresh('prod-keda');
    find(docs, 'ScaledObject', 'drover-worker-analysis').spec.triggers[0].metadata.ignoreNullValues = 'true';
    find(docs, 'ScaledObject', 'drover-worker-coding').spec.triggers[0].metadata.query = 'sum by (queue) (drover_queue_backlog{queue="coding"})';
    expect(workerViolations(docs, 'keda')).toEqual([
      'ScaledObject/drover-worker-analysis: ignoreNullValues is "true", not "false"',
      'ScaledObject/drover-worker-coding: query "sum by (queue) (drover_queue_backlog{queue=\\"coding\\"})" is not "max by (queue) (drover_queue_backlog{queue=\\"coding\\"})"',
    ]);
  });

  it('a Secret with data, or a literal secret env value, fails', () => {
    const docs = fresh('prod');
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'drover-secrets' }, stringData: { DROVER_API_KEYS: 'x' } });
    orchestratorContainer(docs).env.push({ name: 'DROVER_ZENROWS_API_KEY', value: 'x' });
    expect(secretViolations(docs)).toEqual([
      'Secret/drover-secrets: carries data (create Secrets out of band)',
      'Deployment/drover-orchestrator container orchestrator: env DROVER_ZENROWS_API_KEY has a literal value',
    ]);
  });

  it('a preStop shorter than DROVER_DRAIN_DELAY_MS, or a worker grace period too short, fails', () => {
    const docs = fresh('prod');
    orchestratorContainer(docs).lifecycle.preStop = { sleep: { seconds: 1 } };
    find(docs, 'Deployment', 'drover-worker-general').spec.template.spec.terminationGracePeriodSeconds = 30;
    expect(shutdownViolations(docs)).toEqual([
      'Deployment/drover-orchestrator: preStop sleep 1s < DROVER_DRAIN_DELAY_MS 5000ms',
      'Deployment/drover-worker-general: terminationGracePeriodSeconds 30 <= DROVER_SHUTDOWN_GRACE_MS/1000 (30)',
    ]);
  });

  it('one orchestrator in prod, or no PDB, fails', () => {
    const docs = fresh('prod').filter((d) => d.kind !== 'PodDisruptionBudget');
    find(docs, 'Deployment', 'drover-orchestrator').spec.replicas = 1;
    expect(orchestratorViolations(docs, { prod: true })).toEqual([
      'Deployment/drover-orchestrator: replicas 1 < 2',
      'Deployment/drover-orchestrator: no PodDisruptionBudget selects its pods',
    ]);
    expect(orchestratorViolations(fresh('dev'), { prod: false })).toEqual([]);
  });

  it('a selector that matches nothing fails', () => {
    const docs = fresh('prod');
    find(docs, 'Service', 'drover-redis').spec.selector['app.kubernetes.io/component'] = 'rediss';
    find(docs, 'NetworkPolicy', 'drover-worker-metrics').spec.podSelector.matchLabels['app.kubernetes.io/component'] = 'workers';
    expect(selectorViolations(docs)).toEqual(['Service/drover-redis: selector matches no pod template', 'NetworkPolicy/drover-worker-metrics: podSelector matches no pod template']);
  });

  it('a PrometheusRule that drifts from deploy/prometheus fails', () => {
    const docs = fresh('prod');
    find(docs, 'PrometheusRule', 'drover').spec.groups[1].rules[0].for = '10m';
    expect(prometheusRuleViolations(docs)).toEqual([`PrometheusRule/drover: groups differ from ${RULE_FILES.join(' + ')}`]);
  });

  it('a region overlay with the wrong DROVER_REGION fails', () => {
    expect(regionViolations(fresh('region-us'), 'eu')).toEqual(['drover-config: DROVER_REGION is us, not eu']);
  });
});
