import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@drover/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

/** The README is tested as a user would read it: `npm start`, the banner's curl line, every curl example. */
describe('README', () => {
  let url = '';
  let key = '';
  let banner = '';
  let child: ReturnType<typeof spawn>;

  beforeAll(async () => {
    const port = await freePort();
    // The quick start's command, exactly (npm start), with a free port instead of 8080.
    child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', DROVER_PORT: String(port), DROVER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise<void>((resolveBanner, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner after 30 s:\n${out}`)), 30_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('--data') || out.includes(" -d '")) {
          clearTimeout(timer);
          resolveBanner();
        }
      });
      child.once('exit', () => reject(new Error(`npm start exited:\n${out}`)));
    });
    banner = out;
    url = /URL:\s+(\S+)/.exec(banner)![1]!;
    key = /API key:\s+(\S+)/.exec(banner)![1]!;
  }, 60_000);

  afterAll(async () => {
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });

  it('npm start prints the URL, a generated key, and a curl line that returns the echo result', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(key).toMatch(/^drv_[A-Za-z0-9_-]{20,}$/);
    const curl = banner.split('\n').find((l) => l.trim().startsWith('curl '))!;
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', curl.trim()]);
    expect(JSON.parse(stdout)).toMatchObject({ type: 'echo', status: 'succeeded', output: { hello: 'world' } });
  });

  const blocks = [...README.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('$DROVER_URL'));

  it('has curl examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  for (const [i, block] of blocks.entries()) {
    it(`example ${i + 1} runs and succeeds: ${block.split('\n')[0]!.slice(0, 60)}`, async () => {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block], { env: { ...process.env, DROVER_URL: url, DROVER_KEY: key } });
      expect(stdout.length).toBeGreaterThan(0);
      if (block.includes('"type":"debate"')) {
        // The debate example end to end: the stream shows the children's log lines and ends with
        // the parent's success, the tree holds debaters and a judge, the record has the verdict.
        expect(stdout).toMatch(/^event: log$/m);
        expect(stdout).toMatch(/"status":"waiting"/);
        expect(stdout).toMatch(/"type":"judge"/);
        expect(stdout).toMatch(/"winner":\d/);
      }
    });
  }

  // docs/http-api.md's examples, against the same server. `curl -s` becomes `curl -sf` so an
  // HTTP error fails the example; $ID and $NEXT are set up the way a reader would have them.
  const apiDoc = readFileSync(resolve(ROOT, 'docs/http-api.md'), 'utf8');
  const apiBlocks = [...apiDoc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('curl'));

  it('docs/http-api.md has curl examples to check', () => {
    expect(apiBlocks.length).toBeGreaterThanOrEqual(10);
  });

  for (const [i, block] of apiBlocks.entries()) {
    it(`docs/http-api.md example ${i + 1} runs and succeeds: ${block.split('\n')[0]!.slice(0, 60)}`, async () => {
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return (await res.json()) as Record<string, any>;
      };
      // A task to read (finishes at once) or to cancel (still running when the example runs).
      const task = block.includes('/cancel') ? { type: 'sleep', input: { ms: 60_000 } } : { type: 'echo', input: { n: i } };
      const id = (await api('POST', '/v1/tasks', task))['id'] as string;
      await api('POST', '/v1/tasks', { type: 'echo', input: 'second' });
      const next = (await api('GET', '/v1/tasks?limit=1'))['nextCursor'] as string;
      const script = block.replace(/curl -s(i?) /g, 'curl -sf$1 ');
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, DROVER_URL: url, DROVER_KEY: key, ID: id, NEXT: next } });
      expect(stdout.length).toBeGreaterThan(0);
      if (block.includes('curl -si')) expect(stdout).toMatch(/^HTTP\/1\.1 200/);
    });
  }

  it('documents every DROVER_ variable that configuration reads', () => {
    const dir = resolve(ROOT, 'packages/shared/src');
    const sources = readdirSync(dir)
      .filter((f) => f.startsWith('config'))
      .map((f) => readFileSync(resolve(dir, f), 'utf8'))
      .join('\n');
    const vars = new Set([...sources.matchAll(/'(DROVER_[A-Z0-9_]+)'/g)].map((m) => m[1]!));
    expect(vars.size).toBeGreaterThan(20);
    const missing = [...vars].filter((v) => !README.includes(`\`${v}\``));
    expect(missing).toEqual([]);
  });
});
