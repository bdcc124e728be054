import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { MemoryError } from './memory-error.js';
import { VectorTable } from './vector-table.js';

/**
 * One data file per (tenant, collection) of the embedded store, `<sha256(tenant)[0..32]>-<collection>.drvm`:
 *
 *   0   4 bytes  magic "DRVM"
 *   4   u32 LE   format version (1)
 *   8   u32 LE   byte length H of the JSON header
 *   12  H bytes  UTF-8 JSON {tenant, collection, dimension, count, items: [{id, text?, payload}]}
 *   …   0-3 zero bytes, so the vectors start at a multiple of 4
 *   …   count × dimension float32 LE: row i is the unit vector of items[i]
 *
 * The tenant is hashed in the name because tenants are free text (a file name is not);
 * the header holds it verbatim. A file is replaced whole by write-then-rename, so a crash
 * leaves the old or the new file, never half of one.
 */
const MAGIC = 'DRVM';
const VERSION = 1;
export const FILE_SUFFIX = '.drvm';

export interface LoadedTable {
  tenant: string;
  collection: string;
  table: VectorTable;
}

interface Header {
  tenant: string;
  collection: string;
  dimension: number;
  count: number;
  items: Array<{ id: string; text?: string; payload: Record<string, unknown> }>;
}

export function tableFileName(tenant: string, collection: string): string {
  return `${createHash('sha256').update(tenant, 'utf8').digest('hex').slice(0, 32)}-${collection}${FILE_SUFFIX}`;
}

export async function writeTableFile(dir: string, tenant: string, collection: string, table: VectorTable): Promise<void> {
  const path = join(dir, tableFileName(tenant, collection));
  if (table.size === 0) {
    await rm(path, { force: true });
    return;
  }
  const header: Header = {
    tenant,
    collection,
    dimension: table.dimension,
    count: table.size,
    items: table.entries().map((r) => (r.text === undefined ? { id: r.id, payload: r.payload } : { id: r.id, text: r.text, payload: r.payload })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  const prefix = Buffer.alloc(12 + json.length + pad);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(VERSION, 4);
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  // A copy, taken now: remember() may change the table while the write is under way, and the
  // header and the vectors must describe the same moment.
  const vectors = Buffer.from(Buffer.from(table.vectors.buffer, table.vectors.byteOffset, table.vectors.byteLength));
  if (endianness() === 'BE') vectors.swap32();
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writev([prefix, vectors]);
    // The data must be on disk before the rename makes it the file of record.
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function readTableFiles(dir: string): Promise<LoadedTable[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: LoadedTable[] = [];
  for (const name of names) {
    if (name.endsWith(FILE_SUFFIX)) out.push(parseTableFile(await readFile(join(dir, name)), name));
  }
  return out;
}

export function parseTableFile(buf: Buffer, name: string): LoadedTable {
  const bad = (why: string) => new MemoryError('STORAGE', `memory data file ${name} is unreadable (${why}); move it away to start that collection empty`);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) throw bad('not a Drover memory file');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw bad(`format version ${version}, this build reads ${VERSION}`);
  const length = buf.readUInt32LE(8);
  if (12 + length > buf.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + length)) as Header;
  } catch {
    throw bad('corrupt header');
  }
  const start = 12 + length + ((4 - ((12 + length) % 4)) % 4);
  const floats = header.count * header.dimension;
  if (!Number.isInteger(floats) || header.items?.length !== header.count || buf.length !== start + floats * 4) throw bad('vector block size does not match the header');
  // Copy into a fresh Float32Array: one cannot view a Buffer at an offset not a multiple of 4.
  const vectors = new Float32Array(floats);
  const bytes = new Uint8Array(vectors.buffer);
  bytes.set(buf.subarray(start));
  if (endianness() === 'BE') Buffer.from(vectors.buffer).swap32();
  const table = new VectorTable(header.dimension, header.count);
  header.items.forEach((item, i) => {
    table.upsert({ id: item.id, text: item.text, payload: item.payload ?? {} }, vectors.subarray(i * header.dimension, (i + 1) * header.dimension));
  });
  return { tenant: header.tenant, collection: header.collection, table };
}
