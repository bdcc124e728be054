import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests and compose files, read field by field
export type Manifest = any;

const rendered = new Map<string, Manifest[]>();

/**
 * The objects `kubectl kustomize <dir>` renders (dir relative to the repository root), rendered
 * once per test file. Shared: callers that change objects must copy them first.
 */
export function renderKustomize(dir: string): Manifest[] {
  let docs = rendered.get(dir);
  if (!docs) {
    const text = execFileSync('kubectl', ['kustomize', resolve(ROOT, dir)], { encoding: 'utf8' });
    docs = parseAllDocuments(text)
      .map((d) => d.toJS() as Manifest)
      .filter(Boolean);
    rendered.set(dir, docs);
  }
  return docs;
}

/** Compose's interpolation with an empty environment: `${VAR:-default}` / `${VAR-default}` take the default. */
function interpolate(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name, fallback: string | undefined) => fallback ?? '');
  if (Array.isArray(value)) return value.map(interpolate);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  return value;
}

/** compose/compose.yaml (or the given text) as Compose sees it: anchors and `<<` merges resolved, variables at their defaults. */
export function loadCompose(text = readFileSync(resolve(ROOT, 'compose/compose.yaml'), 'utf8')): Manifest {
  return interpolate(parseYaml(text, { merge: true })) as Manifest;
}
