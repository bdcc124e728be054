import type { Redis } from 'ioredis';

export type RememberedMode = 'standard' | 'zenrows';

/** What auto mode learned per domain, with a TTL so a site that stops blocking gets a new try. */
export interface ModeMemory {
  get(domain: string): Promise<RememberedMode | undefined>;
  set(domain: string, mode: RememberedMode): Promise<void>;
}

export class RedisModeMemory implements ModeMemory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  async get(domain: string): Promise<RememberedMode | undefined> {
    const v = await this.redis.get(this.key(domain));
    return v === 'standard' || v === 'zenrows' ? v : undefined;
  }

  async set(domain: string, mode: RememberedMode): Promise<void> {
    await this.redis.set(this.key(domain), mode, 'PX', this.ttlMs);
  }

  private key(domain: string): string {
    return `${this.prefix}:scraper:mode:${domain}`;
  }
}

export class MemoryModeMemory implements ModeMemory {
  private readonly entries = new Map<string, { mode: RememberedMode; expires: number }>();
  constructor(private readonly ttlMs: number) {}

  async get(domain: string): Promise<RememberedMode | undefined> {
    const e = this.entries.get(domain);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(domain);
      return undefined;
    }
    return e.mode;
  }

  async set(domain: string, mode: RememberedMode): Promise<void> {
    this.entries.set(domain, { mode, expires: Date.now() + this.ttlMs });
  }
}
