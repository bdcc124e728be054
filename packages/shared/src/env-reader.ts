import { readFileSync } from 'node:fs';
import { DroverError } from './errors.js';

export type Env = Record<string, string | undefined>;

/**
 * Typed readers over an env map. Every failure names the variable and what it accepts,
 * because the message is all an operator sees when start-up stops.
 */
export class EnvReader {
  constructor(private readonly env: Env) {}

  /**
   * The variable's value, or the contents of the file `<name>_FILE` names (as Docker and
   * Kubernetes mount secrets), trimmed. Giving both is refused: which one wins would be a guess.
   */
  raw(name: string): string | undefined {
    const v = this.env[name];
    const direct = v === undefined || v.trim() === '' ? undefined : v.trim();
    const file = this.env[`${name}_FILE`]?.trim();
    if (!file) return direct;
    if (direct !== undefined) throw configError(`${name}_FILE`, file, `either ${name} or ${name}_FILE, not both`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw configError(`${name}_FILE`, file, `a readable file holding ${name} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
    const trimmed = text.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  string(name: string, fallback: string): string;
  string(name: string, fallback?: undefined): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw configError(name, v, `an integer from ${min} to ${max}`);
    }
    return Number(v);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'on', 'yes'].includes(v)) return true;
    if (['0', 'false', 'off', 'no'].includes(v)) return false;
    throw configError(name, v, 'one of true, false, on, off, 1, 0');
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(values as readonly string[]).includes(v)) throw configError(name, v, `one of ${values.join(', ')}`);
    return v as T;
  }

  list(name: string, fallback: string[]): string[] {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw configError(name, redact(v), `a URL with scheme ${protocols.join(' or ')}`);
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw configError(name, redact(v), `a URL with scheme ${protocols.join(' or ')}`);
    }
    return v;
  }
}

export function configError(name: string, value: string, accepted: string): DroverError {
  return new DroverError('CONFIG', `${name}=${JSON.stringify(value)} is not valid: expected ${accepted}.`, {
    details: { variable: name },
  });
}

/** Hides credentials in URLs before they reach a message or a log. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable>';
  }
}
