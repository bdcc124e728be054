import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Redis } from 'ioredis';

/**
 * A Drover backup: every Redis key under the prefix (queues, task records, indexes, the
 * rabbitmq backend's task store), as Redis DUMP payloads with their remaining TTLs, one JSON
 * object per line:
 *
 *   {"format":"drover-backup","version":1,"prefix":"drover","createdAt":…,"redisVersion":"7.0.15","consistent":true}
 *   {"k":"drover:general:wait","t":-1,"v":"<base64 DUMP payload>"}
 *   …
 *   {"end":true,"keys":1234,"sha256":"<hex digest of every line before this one>"}
 *
 * The trailer makes a truncated or edited file detectable before anything is restored.
 */
export const BACKUP_FORMAT = 'drover-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  prefix: string;
  createdAt: string;
  redisVersion: string;
  /** Whether writes were paused for the whole copy (a point-in-time snapshot). */
  consistent: boolean;
}

export interface BackupOptions {
  prefix: string;
  /** Pause every client's writes (CLIENT PAUSE … WRITE) while copying, so the copy is one instant. */
  pause: boolean;
  /** Longest pause; a copy that needs longer fails instead of holding writers back. */
  pauseMaxMs: number;
  /** Keys per SCAN and per pipeline of DUMPs. */
  batch?: number;
}

export interface BackupResult {
  keys: number;
  bytes: number;
  pausedMs: number;
  consistent: boolean;
}

export class BackupError extends Error {}

/**
 * Writes the snapshot to `file` (through `file.partial`, renamed once complete, so a failed
 * backup never leaves a file that looks whole).
 */
export async function backup(redis: Redis, file: string, options: BackupOptions): Promise<BackupResult> {
  const batch = options.batch ?? 500;
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { flags: 'wx' });
  const opened = new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', reject);
  });
  await opened.catch((err: NodeJS.ErrnoException) => {
    throw new BackupError(err.code === 'EEXIST' ? `${partial} exists: another backup is writing it, or remove it` : `cannot write ${partial}: ${err.message}`);
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const write = async (obj: unknown) => {
    const line = `${JSON.stringify(obj)}\n`;
    hash.update(line);
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  let keys = 0;
  let pausedAt = 0;
  let pausedMs = 0;
  try {
    const redisVersion = await serverVersion(redis);
    if (options.pause) {
      await redis.call('CLIENT', 'PAUSE', String(options.pauseMaxMs), 'WRITE');
      pausedAt = Date.now();
    }
    const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, prefix: options.prefix, createdAt: new Date().toISOString(), redisVersion, consistent: options.pause };
    await write(header);
    const pattern = `${escapeGlob(options.prefix)}:*`;
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', batch);
      cursor = next;
      if (found.length === 0) continue;
      const p = redis.pipeline();
      for (const k of found) {
        p.dumpBuffer(k);
        p.pttl(k);
      }
      const replies = (await p.exec()) ?? [];
      for (const [i, k] of found.entries()) {
        const [dumpErr, payload] = replies[i * 2]!;
        const [, ttl] = replies[i * 2 + 1]!;
        if (dumpErr) throw dumpErr;
        if (payload === null) continue; // expired between SCAN and DUMP
        await write({ k, t: Number(ttl), v: (payload as Buffer).toString('base64') });
        keys++;
      }
      if (options.pause && Date.now() - pausedAt > options.pauseMaxMs * 0.9) {
        throw new BackupError(`the copy took longer than --pause-max-ms (${options.pauseMaxMs} ms): raise it, or pass --no-pause for a copy that is not one instant`);
      }
    } while (cursor !== '0');
    if (options.pause) {
      pausedMs = Date.now() - pausedAt;
      await redis.call('CLIENT', 'UNPAUSE');
      pausedAt = 0;
    }
    const digest = hash.digest('hex');
    const trailer = `${JSON.stringify({ end: true, keys, sha256: digest })}\n`;
    out.write(trailer);
    bytes += Buffer.byteLength(trailer);
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rename(partial, file);
    return { keys, bytes, pausedMs, consistent: options.pause };
  } catch (err) {
    if (pausedAt) await redis.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}

export interface RestoreOptions {
  prefix: string;
  /** Overwrite keys that exist (RESTORE … REPLACE) instead of refusing a non-empty target. */
  force: boolean;
  batch?: number;
}

export interface RestoreResult {
  keys: number;
  header: BackupHeader;
}

/** Checks the whole file (header, every line, trailer digest) and returns its header. */
export async function verify(file: string): Promise<{ header: BackupHeader; keys: number }> {
  let header: BackupHeader | undefined;
  let keys = 0;
  let ended = false;
  const hash = createHash('sha256');
  for await (const { line, n } of lines(file)) {
    if (ended) throw new BackupError(`${file}: data after the end marker (line ${n})`);
    const obj = parseLine(file, line, n);
    if (n === 1) {
      header = checkHeader(file, obj);
    } else if (obj['end'] === true) {
      if (obj['keys'] !== keys || obj['sha256'] !== hash.digest('hex')) throw new BackupError(`${file}: the checksum does not match: the file is corrupt or was edited`);
      ended = true;
      continue;
    } else {
      if (typeof obj['k'] !== 'string' || typeof obj['v'] !== 'string' || typeof obj['t'] !== 'number') throw new BackupError(`${file}: line ${n} is not a key entry`);
      if (!obj['k'].startsWith(`${header!.prefix}:`)) throw new BackupError(`${file}: line ${n} holds a key outside the prefix ${header!.prefix}`);
      keys++;
    }
    hash.update(`${line}\n`);
  }
  if (!header) throw new BackupError(`${file} is empty`);
  if (!ended) throw new BackupError(`${file} is truncated: it has no end marker (was the backup interrupted?)`);
  return { header, keys };
}

/**
 * Loads a verified snapshot. Refuses (before writing anything) a file that does not verify, a
 * prefix other than the one asked for, and a target that already holds keys under the prefix.
 */
export async function restore(redis: Redis, file: string, options: RestoreOptions): Promise<RestoreResult> {
  const { header } = await verify(file);
  if (header.prefix !== options.prefix) {
    throw new BackupError(`${file} holds prefix "${header.prefix}", not "${options.prefix}": set DROVER_PREFIX (or --prefix) to ${header.prefix}`);
  }
  if (!options.force) {
    if (await hasKeys(redis, options.prefix)) throw new BackupError(`the target Redis already holds keys under "${options.prefix}:": restore into an empty Redis, or pass --force to overwrite them`);
  }
  const batch = options.batch ?? 500;
  let keys = 0;
  let p = redis.pipeline();
  let pending = 0;
  const flush = async () => {
    if (pending === 0) return;
    const replies = (await p.exec()) ?? [];
    for (const [err] of replies) if (err) throw new BackupError(`RESTORE failed: ${err.message}`);
    p = redis.pipeline();
    pending = 0;
  };
  for await (const { line, n } of lines(file)) {
    if (n === 1) continue;
    const obj = JSON.parse(line) as { k?: string; t?: number; v?: string; end?: boolean };
    if (obj.end) break;
    const ttl = obj.t! > 0 ? obj.t! : 0;
    const args: Array<string | Buffer | number> = [obj.k!, ttl, Buffer.from(obj.v!, 'base64')];
    if (options.force) args.push('REPLACE');
    p.restore(...(args as [string, number, Buffer]));
    pending++;
    keys++;
    if (pending >= batch) await flush();
  }
  await flush();
  return { keys, header };
}

async function hasKeys(redis: Redis, prefix: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
    if (found.length > 0) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}

async function* lines(file: string): AsyncGenerator<{ line: string; n: number }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  await opened.catch((err: Error) => {
    throw new BackupError(`cannot read ${file}: ${err.message}`);
  });
  let n = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    yield { line, n };
  }
}

function parseLine(file: string, line: string, n: number): Record<string, unknown> {
  try {
    const v = JSON.parse(line) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BackupError(`${file}: line ${n} is not valid JSON: the file is corrupt`);
}

function checkHeader(file: string, obj: Record<string, unknown>): BackupHeader {
  if (obj['format'] !== BACKUP_FORMAT) throw new BackupError(`${file} is not a Drover backup (no "${BACKUP_FORMAT}" header)`);
  if (obj['version'] !== BACKUP_VERSION) throw new BackupError(`${file} is a version ${String(obj['version'])} backup; this drover reads version ${BACKUP_VERSION}`);
  if (typeof obj['prefix'] !== 'string' || obj['prefix'] === '') throw new BackupError(`${file}: the header has no prefix`);
  return obj as unknown as BackupHeader;
}

async function serverVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
