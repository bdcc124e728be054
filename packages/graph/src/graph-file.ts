import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DroverError, type Logger } from '@drover/shared';
import type { TenantGraphSnapshot } from './tenant-graph.js';

export interface GraphFileSnapshot {
  version: 1;
  tenants: Record<string, TenantGraphSnapshot>;
}

export interface GraphFileOptions {
  dataDir: string;
  /** How long writes gather before the file is rewritten; default 200 ms. */
  flushDelayMs?: number;
  logger?: Logger | undefined;
}

/**
 * The JSON file behind an embedded graph: read once at start, rewritten behind the writes
 * (one rewrite per burst, not per call) and flushed on close. Each rewrite goes to a temporary
 * file that is synced and renamed over the old one, so a crash leaves the previous graph or the
 * new one, never half of either. One process owns a dataDir: two would overwrite each other.
 */
export class GraphFile {
  readonly path: string;
  private readonly dataDir: string;
  private readonly flushDelayMs: number;
  private readonly logger: Logger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(options: GraphFileOptions, private readonly snapshot: () => GraphFileSnapshot) {
    this.dataDir = options.dataDir;
    this.path = join(options.dataDir, 'graph.json');
    this.flushDelayMs = options.flushDelayMs ?? 200;
    this.logger = options.logger;
  }

  async load(): Promise<GraphFileSnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new DroverError('CONFIG', `${this.path} is not valid JSON: restore it from a backup or move it away to start with an empty graph`, { cause: err });
    }
    const snapshot = parsed as GraphFileSnapshot;
    if (snapshot === null || typeof snapshot !== 'object' || snapshot.version !== 1 || typeof snapshot.tenants !== 'object') {
      throw new DroverError('CONFIG', `${this.path} is not a version 1 graph file: move it away to start with an empty graph`);
    }
    return snapshot;
  }

  /** Notes that the graph changed; the file is rewritten within flushDelayMs. */
  changed(): void {
    this.dirty = true;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: unknown) => this.logger?.error({ err, path: this.path }, 'graph file write failed; retrying on the next change'));
    }, this.flushDelayMs);
    // A pending write must not keep a process alive that has nothing else to do; close() flushes.
    this.timer.unref();
  }

  /** Writes the graph now if it changed since the last write; writes never overlap. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const text = JSON.stringify(this.snapshot());
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      await mkdir(this.dataDir, { recursive: true });
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
