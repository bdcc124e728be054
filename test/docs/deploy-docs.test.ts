import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAutoscaleArgs } from '../../packages/cli/src/autoscale/autoscale-options.js';
import { loadCompose } from '../support/deploy-files.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['docs/compose.md', 'docs/autoscaling.md', 'docs/backup.md', 'docs/kubernetes.md'].filter((d) => existsSync(resolve(ROOT, d)));
const run = promisify(execFile);

const compose = loadCompose() as { services: Record<string, { profiles?: string[] }> };
const profiles = new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? []));

function blocks(doc: string, lang: string): string[] {
  const text = readFileSync(resolve(ROOT, doc), 'utf8');
  return [...text.matchAll(new RegExp(`^ *\`\`\`${lang}\\n([\\s\\S]*?)^ *\`\`\``, 'gm'))].map((m) => m[1]!);
}

/** One command per line, `\` continuations joined, indentation and comments dropped. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '');
}

/** Whitespace-split words, honouring single and double quotes (enough for the docs' lines). */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

const flag = (argv: string[], name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

/**
 * The deployment docs' commands, checked as far as this machine allows: `bash` blocks run as they
 * are; `console` blocks (Docker, a cluster) are checked against what they name — the compose file,
 * its services and profiles, `drover autoscale`'s own argument parser, the overlay directories —
 * and `drover backup`/`restore` lines run for real against a test Redis. A command of a kind this
 * test does not know fails it, so no shown command goes unchecked.
 */
describe('the deployment docs', () => {
  const scratch = mkdtempSync(resolve(tmpdir(), 'drover-docs-'));
  const prefix = uniqueName('docs');
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('exist and link only to files that exist', () => {
    expect(DOCS.length).toBeGreaterThanOrEqual(3);
    for (const doc of DOCS) {
      const text = readFileSync(resolve(ROOT, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^https?:/.test(target!)) continue;
        expect(existsSync(resolve(ROOT, 'docs', target!)), `${doc} links ${target}`).toBe(true);
      }
    }
  });

  for (const doc of DOCS) {
    for (const [i, block] of blocks(doc, 'bash').entries()) {
      it(`${doc} bash block ${i + 1} runs: ${block.split('\n')[0]!.slice(0, 60)}`, async () => {
        const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block], { cwd: ROOT, env: { ...process.env, DROVER_LOG_LEVEL: 'warn' } });
        expect(stdout.length).toBeGreaterThan(0);
      }, 60_000);
    }

    const lines = blocks(doc, 'console').flatMap(commands);
    if (lines.length === 0) continue;
    it(`${doc}: every console command names real files, services, profiles and flags`, async () => {
      for (const line of lines) {
        const argv = words(line);
        const env = argv.filter((w, k) => /^[A-Z_]+=/.test(w) && argv.slice(0, k).every((x) => /^[A-Z_]+=/.test(x)));
        const cmd = argv.slice(env.length);
        const where = `${doc}: ${line}`;
        if (cmd[0] === 'docker' && cmd[1] === 'compose') {
          expect(existsSync(resolve(ROOT, flag(cmd, '-f') ?? 'compose.yaml')), where).toBe(true);
          const profile = flag(cmd, '--profile');
          if (profile) expect(profiles, where).toContain(profile);
          const scale = flag(cmd, '--scale');
          if (scale) expect(Object.keys(compose.services), where).toContain(scale.split('=')[0]);
        } else if (cmd[0] === 'npm' && cmd[1] === 'run' && cmd[2] === 'drover' && cmd[3] === '--') {
          const [sub, ...args] = cmd.slice(4);
          if (sub === 'autoscale') {
            const options = parseAutoscaleArgs(args);
            if (options.executor.kind === 'compose') {
              expect(Object.keys(compose.services), where).toContain(options.executor.service);
              if (options.executor.file) expect(existsSync(resolve(ROOT, options.executor.file)), where).toBe(true);
            }
          } else if (sub === 'backup' || sub === 'restore') {
            // Run it: the test Redis instead of the shown one, a scratch file, a prefix of its own.
            const file = resolve(scratch, (flag(args, '--out') ?? flag(args, '--in'))!);
            const real = args.map((a) => (a === flag(args, '--out') || a === flag(args, '--in') ? file : a));
            const vars = Object.fromEntries(env.map((e) => e.split('=') as [string, string]));
            expect(vars['DROVER_REDIS_URL'], where).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
            const { stderr } = await run('npm', ['run', '--silent', 'drover', '--', sub, ...real], {
              cwd: ROOT,
              env: { ...process.env, DROVER_REDIS_URL: testRedisUrl(), DROVER_PREFIX: prefix },
            });
            expect(stderr, where).not.toMatch(/error/i);
            expect(existsSync(file), where).toBe(true);
          } else {
            throw new Error(`unchecked drover command in ${where}`);
          }
        } else if (cmd[0] === 'kubectl') {
          const dir = flag(cmd, '-k') ?? (cmd[1] === 'kustomize' ? cmd[2] : undefined);
          if (dir) expect(existsSync(resolve(ROOT, dir)), where).toBe(true);
          const fromFile = cmd.find((w) => w.startsWith('--from-env-file='));
          if (fromFile) expect(existsSync(resolve(ROOT, `${fromFile.split('=')[1]}.example`)) || existsSync(resolve(ROOT, fromFile.split('=')[1]!)), where).toBe(true);
        } else if (cmd[0] === 'cp') {
          expect(existsSync(resolve(ROOT, cmd[1]!)), where).toBe(true);
        } else if (cmd[0] === 'node') {
          const script = cmd.find((w) => /\.(ts|js)$/.test(w));
          expect(script && existsSync(resolve(ROOT, script)), where).toBe(true);
        } else if (cmd[0] === 'curl' || cmd[0] === '$EDITOR' || cmd[0] === 'helm') {
          // A request to the running stack, an edit, a chart install: nothing in the repo to check.
        } else {
          throw new Error(`unchecked command in ${where}`);
        }
      }
    }, 60_000);
  }
});
