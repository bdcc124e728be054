import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import ts from 'typescript';

/**
 * JSON Schemas of Qdrant's REST bodies, generated from Qdrant's OpenAPI document as the
 * client package ships it (openapi-typescript output, `generated_schema.d.ts`), never copied
 * by hand.
 *
 * ts-json-schema-generator cannot read `components['schemas']['X']` straight from that file:
 * `components` has members typed `never` (responses, parameters …), which makes the whole
 * interface, and every lookup into it, `never`. So the file is flattened first, mechanically,
 * with the TypeScript parser: each schema becomes `export type S_<name> = …`, each operation's
 * JSON request body `B_<operation>` and 200 response `R_<operation>`, with references rewritten
 * to those names. One more rewrite: openapi-typescript renders OpenAPI 3.0's `{nullable: true}`
 * alternative (Qdrant's `Option<T>`) as `Record<string, unknown> | null`, which would let any
 * object through where a Filter or a vector config belongs; it is read as `null`, as Qdrant means.
 */

/** The operations the memory adapter calls (and the stand-in serves). */
export const QDRANT_OPERATIONS = [
  'root',
  'collection_exists',
  'get_collection',
  'create_collection',
  'create_field_index',
  'upsert_points',
  'query_points',
  'search_points',
  'count_points',
  'delete_points',
] as const;
export type QdrantOperation = (typeof QDRANT_OPERATIONS)[number];

export interface QdrantSchema {
  /** Problems of a request body of the operation, empty when Qdrant's schema accepts it. */
  requestErrors(operation: QdrantOperation, body: unknown): string[];
  responseErrors(operation: QdrantOperation, body: unknown): string[];
  errorBodyErrors(body: unknown): string[];
  /** The generated JSON Schema definitions, by name. */
  definitions: Record<string, unknown>;
}

export function generatedSchemaPath(): string {
  const main = createRequire(import.meta.url).resolve('@qdrant/js-client-rest');
  let dir = dirname(main);
  while (!dir.endsWith('js-client-rest')) dir = dirname(dir);
  return join(dir, 'dist', 'types', 'openapi', 'generated_schema.d.ts');
}

/** Flattens generated_schema.d.ts into standalone exported aliases (see the header). */
export function flattenQdrantTypes(source: string): string {
  const sf = ts.createSourceFile('generated_schema.d.ts', source, ts.ScriptTarget.ES2022, true);
  const rewrite = (text: string) =>
    text.replace(/components\["schemas"\]\["(\w+)"\]/g, 'S_$1').replace(/\(Record<string, unknown> \| null\)/g, 'null');
  const nameOf = (m: ts.TypeElement) => (m.name && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name) || ts.isNumericLiteral(m.name)) ? m.name.text : '');
  const member = (node: ts.TypeNode | undefined, name: string): ts.TypeNode | undefined => {
    if (!node || !ts.isTypeLiteralNode(node)) return undefined;
    const found = node.members.find((m) => nameOf(m) === name);
    return found && ts.isPropertySignature(found) ? found.type : undefined;
  };
  const out: string[] = [];
  for (const st of sf.statements) {
    // The OneOf/XOR helpers some schemas use.
    if (ts.isTypeAliasDeclaration(st) && !st.modifiers) out.push(st.getText(sf));
    if (!ts.isInterfaceDeclaration(st)) continue;
    if (st.name.text === 'components') {
      const schemas = st.members.find((m) => nameOf(m) === 'schemas') as ts.PropertySignature;
      for (const m of (schemas.type as ts.TypeLiteralNode).members) {
        out.push(`export type S_${nameOf(m)} = ${rewrite((m as ts.PropertySignature).type!.getText(sf))};`);
      }
    }
    if (st.name.text === 'operations') {
      for (const op of st.members) {
        const opType = (op as ts.PropertySignature).type;
        const json200 = member(member(member(member(opType, 'responses'), '200'), 'content'), 'application/json');
        if (json200) out.push(`export type R_${nameOf(op)} = ${rewrite(json200.getText(sf))};`);
        const body = member(member(member(opType, 'requestBody'), 'content'), 'application/json');
        if (body) out.push(`export type B_${nameOf(op)} = ${rewrite(body.getText(sf))};`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * Generates (or reads from the cache in the temp dir, keyed by the client's schema file) the
 * JSON Schemas of the operations' bodies, and compiles them with ajv.
 */
export async function loadQdrantSchema(): Promise<QdrantSchema> {
  const source = await readFile(generatedSchemaPath(), 'utf8');
  const key = createHash('sha256').update(source).update(QDRANT_OPERATIONS.join()).update('v1').digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `drover-qdrant-schema-${key}`);
  const cached = join(dir, 'definitions.json');
  let definitions: Record<string, unknown>;
  try {
    definitions = JSON.parse(await readFile(cached, 'utf8')) as Record<string, unknown>;
  } catch {
    definitions = await generate(dir, source);
    // Two test files may generate at once; each writes its own file and renames it into place.
    await writeFile(`${cached}.${process.pid}`, JSON.stringify(definitions));
    await rename(`${cached}.${process.pid}`, cached);
  }
  return compile(definitions);
}

async function generate(dir: string, source: string): Promise<Record<string, unknown>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'qdrant-wire.ts');
  await writeFile(path, flattenQdrantTypes(source));
  const tsconfig = join(dir, 'tsconfig.json');
  await writeFile(tsconfig, JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] }, files: [path] }));
  const generator = createGenerator({ path, tsconfig, expose: 'export', topRef: true, jsDoc: 'none', skipTypeCheck: true });
  const definitions: Record<string, unknown> = {};
  const roots = ['S_ErrorResponse', ...QDRANT_OPERATIONS.flatMap((op) => [`R_${op}`, ...(hasBody(op) ? [`B_${op}`] : [])])];
  for (const root of roots) Object.assign(definitions, (generator.createSchema(root).definitions ?? {}) as Record<string, unknown>);
  return definitions;
}

function hasBody(op: QdrantOperation): boolean {
  return !['root', 'collection_exists', 'get_collection'].includes(op);
}

function compile(definitions: Record<string, unknown>): QdrantSchema {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema({ $id: 'qdrant', definitions });
  const cache = new Map<string, ValidateFunction>();
  const errors = (name: string, value: unknown): string[] => {
    let validate = cache.get(name);
    if (!validate) {
      validate = ajv.getSchema(`qdrant#/definitions/${name}`);
      if (!validate) throw new Error(`no generated schema ${name}`);
      cache.set(name, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).slice(0, 8).map((e) => `${name}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  };
  return {
    definitions,
    requestErrors: (op, body) => errors(`B_${op}`, body),
    responseErrors: (op, body) => errors(`R_${op}`, body),
    errorBodyErrors: (body) => errors('S_ErrorResponse', body),
  };
}
