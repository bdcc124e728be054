import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DroverClient } from '@drover/client';
import { buildApp } from '@drover/orchestrator';
import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import { type Worker, builtinTasks, createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_DIST, ensureDashboardBuilt } from './dashboard-build.js';

const ADMIN_KEY = 'ui-admin-key-0123456789abcdef';
const USER_KEY = 'ui-user-key-0123456789abcdef';
const SHOTS = fileURLToPath(new URL('../../test-results/ui/', import.meta.url));

/** Fails every attempt: with maxAttempts 1 each run is a dead letter. */
const alwaysFails = defineTask({
  name: 'always-fails',
  queue: 'general',
  input: Type.Object({ n: Type.Optional(Type.Integer()) }),
  maxAttempts: 1,
  run: async () => {
    throw new Error('fails on purpose (test task)');
  },
});

/**
 * The dashboard in a real Chromium against a real orchestrator and worker (one process, memory
 * backend, 127.0.0.1 on a free port). Any console error, uncaught page error or CSP violation
 * fails the test, except the failed requests a step expects (a refused key, a 403).
 */
describe('dashboard in a browser', () => {
  let backend: MemoryBackend;
  let app: FastifyInstance;
  let worker: Worker;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let expectedFailures: RegExp[];
  let user: DroverClient;

  beforeAll(async () => {
    ensureDashboardBuilt();
    // The CSP allows no inline script or style: the build must hold none.
    const index = readFileSync(`${DASHBOARD_DIST}/index.html`, 'utf8');
    expect(index).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(index).not.toMatch(/<style|\sstyle=/);
    mkdirSync(SHOTS, { recursive: true });
    const config = loadConfig({
      DROVER_API_KEYS: `ops:${ADMIN_KEY},acme:${USER_KEY}`,
      DROVER_ADMIN_TENANTS: 'ops',
      DROVER_LOG_LEVEL: 'silent',
      DROVER_MAX_AGENTS: '7',
    });
    backend = new MemoryBackend();
    await backend.registerTaskTypes([{ name: 'always-fails', queue: 'general', inputSchema: alwaysFails.input as Record<string, unknown>, maxAttempts: 1 }]);
    app = await buildApp({ config, backend, logger: createLogger({ service: 't', instance: 't', region: 'local', level: 'silent' }) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = createWorker({ backend, tasks: [alwaysFails, ...builtinTasks()], concurrency: 3, queues: ['general'], heartbeatMs: 200 });
    await worker.start();
    user = new DroverClient({ baseUrl: base, apiKey: USER_KEY });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.drain(0);
    await app?.close();
    await backend?.close();
  });

  beforeEach(async () => {
    problems = [];
    expectedFailures = [];
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    // Below the test's own timeout, so a step that waits in vain names its locator.
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      const text = m.text();
      if (m.type() === 'error' && expectedFailures.some((re) => re.test(text))) return;
      // Chromium warns about nothing on a clean page; a CSP report-only or violation shows here too.
      if (m.type() === 'warning' && !/Content Security Policy|Refused/i.test(text)) return;
      problems.push(`${m.type()}: ${text}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  });

  afterEach(async () => {
    await context?.close();
    expect(problems).toEqual([]);
  });

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

  async function logIn(key: string): Promise<void> {
    await page.goto(`${base}/ui/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header.top').waitFor();
  }

  /** The status badge in the task page's heading, once it shows `status`. */
  const headingStatus = (status: string) => page.locator('h1 .status', { hasText: new RegExp(`^${status}$`) });

  it('logs in with a key, refuses a wrong one, shows the queues and the agent cap, and logs out', async () => {
    expectedFailures = [/status of 401/];
    const res = await page.goto(`${base}/ui`);
    expect(page.url()).toBe(`${base}/ui/`);
    expect(res?.headers()['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    );
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();

    await page.getByLabel('API key').fill(USER_KEY);
    await page.getByRole('button', { name: 'Log in' }).click();
    const general = page.locator('tr[data-queue="general"]');
    await general.waitFor();
    expect(await page.locator('tr[data-queue]').count()).toBeGreaterThan(0);
    await page.getByTestId('agents-limit').filter({ hasText: /^7$/ }).waitFor();
    // The key stays in this tab only.
    expect(await page.evaluate('sessionStorage.getItem("drover.apiKey")')).toBe(USER_KEY);

    // Throughput: tasks finishing between two polls lift the sparkline off its baseline (y 30 of 32).
    for (let i = 0; i < 5; i++) await user.submit({ type: 'echo', input: { i } }, { wait: 5000 });
    const line = general.locator('svg.sparkline polyline');
    await until(async () => ((await line.count()) > 0 ? ((await line.getAttribute('points')) ?? '') : '').split(' ').some((p) => Number(p.split(',')[1]) < 29), 15_000);
    expect(await general.locator('td.num').nth(4).textContent()).toBe('5');
    await shot('queues');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.getItem("drover.apiKey")')).toBeNull();
  });

  it('pauses a queue for an admin and shows the 403 to a tenant that is not one', async () => {
    expectedFailures = [/status of 403/];
    await logIn(USER_KEY);
    const general = page.locator('tr[data-queue="general"]');
    await general.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('alert').filter({ hasText: 'DROVER_ADMIN_TENANTS' }).waitFor();
    await general.locator('.status', { hasText: 'active' }).waitFor();
    await shot('queues-forbidden');

    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn(ADMIN_KEY);
    await general.getByRole('button', { name: 'Pause' }).click();
    await general.locator('.status', { hasText: 'paused' }).waitFor();
    expect((await user.queues.list()).find((q) => q.name === 'general')?.paused).toBe(true);
    await general.getByRole('button', { name: 'Resume' }).click();
    await general.locator('.status', { hasText: 'active' }).waitFor();
    expect((await user.queues.list()).find((q) => q.name === 'general')?.paused).toBe(false);
  });

  it('submits a sleep task from the UI and shows it succeed live, without a reload', async () => {
    await logIn(USER_KEY);
    await page.getByRole('link', { name: 'Tasks' }).click();
    const form = page.getByRole('form', { name: 'Submit a task' });
    await form.locator('select[name="submit-type"] option', { hasText: /^sleep$/ }).waitFor({ state: 'attached' });
    await form.locator('select[name="submit-type"]').selectOption('sleep');
    await form.locator('textarea[name="submit-input"]').fill('{"ms": 2000}');
    await form.getByRole('button', { name: 'Submit' }).click();

    await page.locator('h1 .status').waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/tasks/', ''));
    expect(id).not.toBe('');
    // Marks this document: a reload or a navigation would lose it.
    await page.evaluate('window.__sameDocument = true');
    expect(['queued', 'running']).toContain(await page.locator('h1 .status').textContent());
    await headingStatus('running').waitFor({ timeout: 10_000 });
    await headingStatus('succeeded').waitFor({ timeout: 15_000 });
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await page.locator('pre.json', { hasText: '"slept": 2000' }).waitFor();
    const events = await page.getByRole('list', { name: 'events' }).innerText();
    expect(events).toMatch(/state running/);
    expect(events).toMatch(/state succeeded/);
    expect((await user.get(id)).status).toBe('succeeded');
    await shot('task-succeeded');

    // The task is in the list, filtered by type and status.
    await page.goto(`${base}/ui/#/tasks?type=sleep&status=succeeded`);
    await page.locator(`tr[data-task="${id}"]`).waitFor();
  });

  it('cancels a running task from its page and shows it canceled', async () => {
    const task = await user.submit({ type: 'sleep', input: { ms: 60_000 } });
    await logIn(USER_KEY);
    await page.goto(`${base}/ui/#/tasks/${encodeURIComponent(task.id)}`);
    await headingStatus('running').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await headingStatus('canceled').waitFor({ timeout: 10_000 });
    await page.locator('.task-error', { hasText: 'DROVER_ERR_TASK_CANCELED' }).waitFor();
    expect((await user.get(task.id)).status).toBe('canceled');
    // A finished task offers no cancel.
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await shot('task-canceled');
  });

  it('retries a dead letter from the dead-letters view and shows the new task', async () => {
    const dead = await user.submit({ type: 'always-fails', input: { n: 1 }, maxAttempts: 1 }, { wait: 10_000 });
    expect(dead.status).toBe('failed');
    await logIn(USER_KEY);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator(`tr[data-task="${dead.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('fails on purpose');
    await shot('dead-letters');

    await row.getByRole('button', { name: 'Retry' }).click();
    const done = page.getByRole('status').filter({ hasText: `Retried ${dead.id} as` });
    await done.waitFor();
    const newId = (await done.getByRole('link').textContent()) ?? '';
    expect(newId).not.toBe('');
    expect(newId).not.toBe(dead.id);
    await row.waitFor({ state: 'detached' });
    const retried = await user.get(newId);
    expect(retried.type).toBe('always-fails');
    expect(retried.input).toEqual({ n: 1 });

    await done.getByRole('link').click();
    await page.locator('h1 code', { hasText: newId }).waitFor();
    // The retry fails too (it always does) and comes back as a dead letter of its own.
    await headingStatus('failed').waitFor({ timeout: 10_000 });
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.locator(`tr[data-task="${newId}"]`).waitFor();
    await shot('dead-letters-retried');
  });

  it('lists the live worker, and creates and deletes a schedule', async () => {
    await logIn(USER_KEY);
    await page.getByRole('link', { name: 'Workers' }).click();
    await page.getByTestId('workers-summary').filter({ hasText: /1 worker, \d+ of 3 slots busy/ }).waitFor();
    // Where workers run is for admins only.
    await page.getByRole('table', { name: 'workers' }).getByText('hidden (admin only)').waitFor();
    await shot('workers');

    await page.getByRole('link', { name: 'Schedules' }).click();
    const form = page.getByRole('form', { name: 'Create a schedule' });
    await form.locator('select[name="schedule-type"] option', { hasText: /^echo$/ }).waitFor({ state: 'attached' });
    await form.locator('input[name="expr"]').fill('0 3 * * *');
    await form.locator('select[name="schedule-type"]').selectOption('echo');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('status').filter({ hasText: 'Created sch_' }).waitFor();
    const [schedule] = await user.schedules.list();
    expect(schedule?.cron).toBe('0 3 * * *');
    const row = page.locator(`tr[data-schedule="${schedule!.id}"]`);
    await row.waitFor();
    await shot('schedules');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await user.schedules.list()).toEqual([]);
  });
});

/** Polls `check` (in this process: the page's CSP refuses the eval that waitForFunction needs). */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
