import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
// A CommonJS module (module.exports = factory) whose types declare a default export.
const createIgnore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;
// The Dockerfiles' own ARG reference, as it appears in their FROM lines.
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a JS template
const NODE_IMAGE_REF = '${NODE_IMAGE}';
const SERVICES = [
  { name: 'orchestrator', portVar: 'DROVER_PORT', port: '8080', entry: 'packages/orchestrator/dist/main.js' },
  // The worker runs its bundle (packages/worker/bundle.mjs), built by npm run build.
  { name: 'worker', portVar: 'DROVER_WORKER_PORT', port: '9090', entry: 'packages/worker/dist/worker.mjs' },
] as const;
type Service = (typeof SERVICES)[number];

/** Exec form: a JSON array (shell form would put /bin/sh, not tini or node, in front of signals). */
function execForm(i: Instruction): string[] | null {
  const text = i.getArgumentsContent()?.trim() ?? '';
  if (!text.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * The rules every Drover image follows, as a list of violations (empty when the Dockerfile is
 * right). No Docker engine runs here, so this is what can be proven offline; the closing checks
 * below also hold the build context (.dockerignore) to what the COPY lines need.
 */
function dockerfileViolations(text: string, svc: Service): string[] {
  const out: string[] = [];
  const file = DockerfileParser.parse(text);
  const all = file.getInstructions();
  const froms = file.getFROMs();
  const nodeImage = file.getInitialARGs().find((a) => a.getProperty()?.getName() === 'NODE_IMAGE')?.getProperty()?.getValue() ?? '';
  if (!/^node:20\.\d+\.\d+-(bookworm|bullseye)-slim(@sha256:[0-9a-f]{64})?$/.test(nodeImage)) out.push(`base image not a pinned slim Node 20 release: ${nodeImage || '(no ARG NODE_IMAGE)'}`);
  for (const f of froms) {
    if (f.getImage() !== NODE_IMAGE_REF) out.push(`stage ${f.getBuildStage() ?? '?'} does not build on the pinned NODE_IMAGE: ${f.getImage()}`);
  }
  if (froms.length < 2) out.push('not multi-stage');

  // Which stage each instruction belongs to: the FROM before it.
  const stageOf = (i: Instruction) => froms.filter((f) => f.getRange().start.line <= i.getRange().start.line).length - 1;
  const finalStage = froms.length - 1;
  const runs = all.filter((i) => i.getKeyword() === 'RUN').map((i) => ({ stage: stageOf(i), text: i.getArgumentsContent() ?? '' }));
  const fullInstall = runs.find((r) => /\bnpm ci\b/.test(r.text) && !/--omit=dev/.test(r.text));
  const build = runs.find((r) => /\bnpm run build\b/.test(r.text));
  const prodInstall = runs.find((r) => /\bnpm ci\b[^&]*--omit=dev/.test(r.text));
  if (!fullInstall) out.push('no npm ci (the lockfile install) before the build');
  if (!build) out.push('no npm run build: the image would not carry dist/');
  if (!prodInstall) out.push('no pruned production install (npm ci --omit=dev)');
  if (fullInstall && prodInstall && fullInstall.stage === prodInstall.stage) out.push('the production install shares the build stage (dev dependencies would ship)');
  if (runs.some((r) => r.stage === finalStage && /\bnpm (ci|install)\b/.test(r.text))) out.push('the final stage installs packages itself');

  const final = all.filter((i) => stageOf(i) === finalStage);
  const users = final.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent()?.trim() ?? '');
  const user = users.at(-1);
  if (!user) out.push('no USER: the image runs as root');
  else if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user)) out.push(`USER must be a numeric non-root uid (runAsNonRoot checks it): ${user}`);

  const entrypoint = final.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1);
  const entry = entrypoint ? execForm(entrypoint) : null;
  if (!entry || !/(^|\/)tini$/.test(entry[0] ?? '')) out.push('no exec-form ENTRYPOINT running tini as PID 1');
  const cmdInstr = final.filter((i) => i.getKeyword() === 'CMD').at(-1);
  const cmd = cmdInstr ? execForm(cmdInstr) : null;
  if (!cmd) out.push('CMD is missing or not exec form');
  else if (cmd[0] !== 'node' || cmd[1] !== svc.entry || cmd.some((a) => /tsx|\.ts$/.test(a))) out.push(`CMD must run the compiled ${svc.entry} with node: ${JSON.stringify(cmd)}`);

  const health = final.filter((i) => i.getKeyword() === 'HEALTHCHECK').at(-1);
  const healthText = health?.getArgumentsContent() ?? '';
  if (!health) out.push('no HEALTHCHECK');
  else if (!healthText.includes('/healthz') || !healthText.includes(svc.portVar)) out.push(`HEALTHCHECK must probe /healthz on ${svc.portVar}`);
  if (!final.some((i) => i.getKeyword() === 'EXPOSE' && i.getArgumentsContent()?.trim() === svc.port)) out.push(`no EXPOSE ${svc.port}`);

  const distCopies = file.getCOPYs().filter((c) => stageOf(c) === finalStage && c.getFromFlag() && c.getArguments().some((a) => a.getValue().endsWith('/dist')));
  if (distCopies.length === 0) out.push('the final stage copies no dist/');
  for (const i of all) {
    if (i.getKeyword() === 'ADD' && /https?:\/\//.test(i.getArgumentsContent() ?? '')) out.push('ADD from a URL (unpinned, unverified download)');
    if ((i.getKeyword() === 'ENV' || i.getKeyword() === 'ARG') && /(KEY|PASSWORD|TOKEN|SECRET)\w*=/i.test(i.getArgumentsContent() ?? '')) out.push(`a secret baked into the image: ${i.getKeyword()} ${i.getArgumentsContent()}`);
  }
  return out;
}

/** The source files COPY lines read from the build context (stage-to-stage copies excluded). */
function contextSources(text: string): string[] {
  const file = DockerfileParser.parse(text);
  return file
    .getCOPYs()
    .filter((c) => !c.getFromFlag())
    .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue().replace(/\/$/, '')));
}

const dockerignore = () => createIgnore().add(readFileSync(resolve(ROOT, '.dockerignore'), 'utf8').split('\n'));
const trackedFiles = () => execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');

describe('container images', () => {
  for (const svc of SERVICES) {
    const path = `packages/${svc.name}/Dockerfile`;
    const text = readFileSync(resolve(ROOT, path), 'utf8');

    it(`${path} follows every image rule`, () => {
      expect(dockerfileViolations(text, svc)).toEqual([]);
    });

    it(`${path}: every file it copies from the context is in the context`, () => {
      const ig = dockerignore();
      for (const src of contextSources(text)) {
        expect(existsSync(resolve(ROOT, src)), `${src} exists`).toBe(true);
        expect(ig.ignores(src), `${src} is not excluded by .dockerignore`).toBe(false);
      }
    });
  }

  it('the two Dockerfiles are the same but for the service: its name, port and entry file', () => {
    // Docker has no include; one per service is the rule. This keeps them from drifting apart.
    const generic = (svc: Service) =>
      readFileSync(resolve(ROOT, `packages/${svc.name}/Dockerfile`), 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n')
        .replaceAll(svc.entry, '<entry>')
        .replaceAll(svc.portVar, '<port var>')
        .replaceAll(svc.port, '<port>');
    expect(generic(SERVICES[1])).toBe(generic(SERVICES[0]));
  });

  it('.dockerignore keeps out dependencies, builds, git, tests and secrets, and keeps in the sources', () => {
    const ig = dockerignore();
    for (const p of ['node_modules/x', 'packages/worker/node_modules/x', 'packages/shared/dist/index.js', '.git/HEAD', 'compose/secrets.env', 'packages/shared/test/a.test.ts', 'test/e2e/distributed.test.ts', 'bench/run.ts', '.env']) {
      expect(ig.ignores(p), p).toBe(true);
    }
    const sent = trackedFiles().filter((f) => !ig.ignores(f));
    for (const p of ['package.json', 'package-lock.json', 'turbo.json', 'tsconfig.base.json', 'packages/worker/src/main.ts', 'packages/orchestrator/tsconfig.json']) {
      expect(sent, p).toContain(p);
    }
    expect(sent.filter((f) => /secret|\.env$/.test(f))).toEqual([]);
  });

  // Each rule shown to fail: one broken copy of the orchestrator's Dockerfile per rule.
  const orchestrator = readFileSync(resolve(ROOT, 'packages/orchestrator/Dockerfile'), 'utf8');
  const broken: [string, (t: string) => string, string][] = [
    ['unpinned base', (t) => t.replace(/ARG NODE_IMAGE=.*/, 'ARG NODE_IMAGE=node:20-slim'), 'pinned slim Node 20'],
    ['a stage on another image', (t) => t.replace(`FROM ${NODE_IMAGE_REF} AS deps`, 'FROM node:latest AS deps'), 'does not build on the pinned NODE_IMAGE'],
    ['no pruned install', (t) => t.replace('--omit=dev ', ''), 'no pruned production install'],
    ['root user', (t) => t.replace('USER 10001:10001', 'USER root'), 'numeric non-root uid'],
    ['no user', (t) => t.replace(/^USER .*$/m, ''), 'runs as root'],
    ['tsx at run time', (t) => t.replace('CMD ["node", "packages/orchestrator/dist/main.js"]', 'CMD ["node", "--import", "tsx", "packages/orchestrator/src/main.ts"]'), 'compiled'],
    ['shell-form CMD', (t) => t.replace('CMD ["node", "packages/orchestrator/dist/main.js"]', 'CMD node packages/orchestrator/dist/main.js'), 'not exec form'],
    ['no init', (t) => t.replace(/^ENTRYPOINT .*$/m, ''), 'tini'],
    ['no healthcheck', (t) => t.replace(/^HEALTHCHECK[\s\S]*?\n(?=#)/m, ''), 'no HEALTHCHECK'],
    ['a baked secret', (t) => t.replace('ENV NODE_ENV=production', 'ENV DROVER_ZENROWS_API_KEY=abc NODE_ENV=production'), 'secret baked'],
  ];
  for (const [what, mutate, message] of broken) {
    it(`a Dockerfile with ${what} is refused`, () => {
      const text = mutate(orchestrator);
      expect(text).not.toBe(orchestrator);
      const violations = dockerfileViolations(text, SERVICES[0]);
      expect(violations.join('\n')).toContain(message);
    });
  }
});
