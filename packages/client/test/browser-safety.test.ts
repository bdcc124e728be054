import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

/**
 * The SDK runs in browsers as well as Node 20: its sources may use fetch, AbortController,
 * TextDecoder and ReadableStream only. A Node built-in or a runtime import of another package
 * would break the browser bundle (type-only imports are erased, so they are fine).
 */
describe('browser safety', () => {
  const files = readdirSync(SRC).filter((f) => f.endsWith('.ts'));

  it('has sources to check', () => {
    expect(files).toContain('index.ts');
  });

  for (const file of files) {
    it(`${file} uses no Node built-ins, no process, no runtime package imports`, () => {
      const text = readFileSync(join(SRC, file), 'utf8');
      expect(text).not.toMatch(/node:/);
      expect(text).not.toMatch(/\bprocess\./);
      expect(text).not.toMatch(/\bBuffer\b/);
      expect(text).not.toMatch(/\brequire\(/);
      for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        const [, , typeOnly, from] = m;
        if (!from!.startsWith('.')) expect(typeOnly, `${file} imports ${from} at runtime`).toBe('type ');
      }
    });
  }
});
