import { type DroverClient, type TaskRecord, type TaskStatus, isFinished } from '@drover/client';
import { type CommandInput, apiCommand, intFlag, output, readJsonArg, stringFlag } from '../api/api-command.js';
import { UsageError } from '../api/cli-connection.js';
import { ProgressBar } from '../api/progress-bar.js';
import { ago, renderTable } from '../api/table.js';

/** Exit code of `wait` (and `submit --wait`) when the task is still running at --timeout, as timeout(1) does. */
const STILL_RUNNING = 124;

const TASK_COLUMNS = ['id', 'type', 'queue', 'status', 'attempt', 'created', 'finished'];
const taskRow = (t: TaskRecord) => [t.id, t.type, t.queue, t.status, `${t.attempt}/${t.maxAttempts}`, ago(t.createdAt), ago(t.finishedAt)];

/** One task, in full: the fields a person reads first, then input, output and error. */
function describeTask(t: TaskRecord): string {
  const lines = [
    `id:        ${t.id}`,
    `type:      ${t.type} (queue ${t.queue}, priority ${t.priority})`,
    `status:    ${t.status}`,
    // Runs started (a resumed parent's runs count too), against the attempts a failure may use.
    `attempt:   ${t.attempt} (runs started; maxAttempts ${t.maxAttempts})`,
    `created:   ${t.createdAt}${t.startedAt ? `   started: ${t.startedAt}` : ''}${t.finishedAt ? `   finished: ${t.finishedAt}` : ''}`,
  ];
  if (t.parentId) lines.push(`parent:    ${t.parentId}`);
  if (t.children.length > 0) lines.push(`children:  ${t.children.length} (the tree: GET /v1/tasks/${t.id}/tree)`);
  if (t.progress !== null && t.progress !== undefined) lines.push(`progress:  ${JSON.stringify(t.progress)}`);
  lines.push(`input:     ${JSON.stringify(t.input)}`);
  if (t.output !== null && t.output !== undefined) lines.push(`output:    ${JSON.stringify(t.output, null, 2).replace(/\n/g, '\n           ')}`);
  if (t.error) lines.push(`error:     ${t.error.code}: ${t.error.message}${t.error.retryable ? ' (retryable)' : ''}`);
  return `${lines.join('\n')}\n`;
}

/** The exit code a finished (or not) task maps to: 0 succeeded, 1 failed or canceled, 124 still running. */
function exitFor(t: TaskRecord): number {
  if (t.status === 'succeeded') return 0;
  return isFinished(t.status) ? 1 : STILL_RUNNING;
}

/**
 * Waits for a task while drawing its progress (from its event stream) on stderr; the answer is
 * the task's record once it has finished or `timeoutMs` ran out.
 */
async function waitWithProgress(input: CommandInput, client: DroverClient, task: TaskRecord, timeoutMs: number | undefined): Promise<TaskRecord> {
  if (isFinished(task.status)) return task;
  const bar = new ProgressBar(input.stderr, task.id);
  let status: TaskStatus = task.status;
  let progress: unknown = task.progress;
  bar.update(status, progress);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  input.signal.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => stop.abort(), timeoutMs);
  try {
    for await (const e of client.events(task.id, { signal: stop.signal })) {
      if (e.event === 'state') status = e.data.status;
      else if (e.event === 'progress') progress = e.data.progress;
      else continue;
      bar.update(status, progress);
      if (isFinished(status)) break;
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', onAbort);
    bar.done();
  }
  return client.get(task.id);
}

function showFinished(input: CommandInput, t: TaskRecord): number {
  output(input, t, () => describeTask(t));
  return exitFor(t);
}

export const submit = apiCommand({
  name: 'submit',
  usage: `usage: drover submit TYPE [INPUT_JSON | -] [options]

Submits a task; INPUT_JSON is its input (- reads it from stdin).
  --queue Q              default: the task type's queue
  --priority N           0-10, higher first (default 10)
  --max-attempts N       --timeout-ms N     --delay-ms N     --backoff-ms N
  --idempotency-key K    makes the submission exactly-once (safe to repeat)
  --parent ID            a task of yours this one is a child of
  --wait                 wait for it to finish, with a progress bar (exit 0 succeeded, 1 failed or canceled)
  --timeout MS           with --wait: stop waiting after MS (exit 124 if still running)`,
  options: {
    queue: { type: 'string' },
    priority: { type: 'string' },
    'max-attempts': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'delay-ms': { type: 'string' },
    'backoff-ms': { type: 'string' },
    'idempotency-key': { type: 'string' },
    parent: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  async run(input) {
    const [type, inputText, ...extra] = input.positionals;
    if (!type) throw new UsageError('TYPE is required, e.g. drover submit echo \'{"hello":"world"}\'.');
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')} (quote the input JSON as one argument).`);
    const v = input.values;
    const numbers = {
      priority: intFlag(v, 'priority'),
      maxAttempts: intFlag(v, 'max-attempts', 1),
      timeoutMs: intFlag(v, 'timeout-ms', 1),
      delayMs: intFlag(v, 'delay-ms'),
      backoffMs: intFlag(v, 'backoff-ms'),
    };
    const task = {
      type,
      ...(inputText === undefined ? {} : { input: await readJsonArg(inputText, 'INPUT_JSON') }),
      ...(stringFlag(v, 'queue') ? { queue: stringFlag(v, 'queue')! } : {}),
      ...(stringFlag(v, 'parent') ? { parentId: stringFlag(v, 'parent')! } : {}),
      ...Object.fromEntries(Object.entries(numbers).filter(([, n]) => n !== undefined)),
    };
    const key = stringFlag(v, 'idempotency-key');
    const created = await input.client.submit(task, { ...(key ? { idempotencyKey: key } : {}), signal: input.signal });
    if (!v['wait']) {
      output(input, created, () => `${created.id}  ${created.type}  ${created.status}\n`);
      return 0;
    }
    return showFinished(input, await waitWithProgress(input, input.client, created, intFlag(v, 'timeout')));
  },
});

export const get = apiCommand({
  name: 'get',
  usage: 'usage: drover get ID\n\nShows a task: status, attempts, progress, input, output, error.',
  async run(input) {
    const id = onlyId(input);
    const t = await input.client.get(id, { signal: input.signal });
    output(input, t, () => describeTask(t));
    return 0;
  },
});

export const wait = apiCommand({
  name: 'wait',
  usage: `usage: drover wait ID [--timeout MS]

Waits for a task to finish, drawing its progress; exit 0 succeeded, 1 failed or canceled, 124 still
running after --timeout.`,
  options: { timeout: { type: 'string' } },
  async run(input) {
    const t = await input.client.get(onlyId(input), { signal: input.signal });
    return showFinished(input, await waitWithProgress(input, input.client, t, intFlag(input.values, 'timeout')));
  },
});

export const list = apiCommand({
  name: 'list',
  usage: `usage: drover list [--status S] [--type T] [--queue Q] [--limit N] [--all]

Lists your tasks, newest first: one page of --limit (default 20), or every page with --all.`,
  options: { status: { type: 'string' }, type: { type: 'string' }, queue: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  async run(input) {
    const v = input.values;
    const filter = {
      ...(stringFlag(v, 'status') ? { status: stringFlag(v, 'status') as TaskStatus } : {}),
      ...(stringFlag(v, 'type') ? { type: stringFlag(v, 'type')! } : {}),
      ...(stringFlag(v, 'queue') ? { queue: stringFlag(v, 'queue')! } : {}),
    };
    const limit = intFlag(v, 'limit', 1) ?? 20;
    let tasks: TaskRecord[];
    let next: string | null = null;
    if (v['all']) {
      tasks = [];
      for await (const t of input.client.tasks({ ...filter, pageSize: Math.min(limit, 1000) }, { signal: input.signal })) tasks.push(t);
    } else {
      const page = await input.client.list({ ...filter, limit }, { signal: input.signal });
      tasks = page.items;
      next = page.nextCursor;
    }
    output(input, v['all'] ? { items: tasks } : { items: tasks, nextCursor: next }, () => {
      const more = next ? `(more: drover list --all, or --limit above ${limit})\n` : '';
      return tasks.length === 0 ? 'no tasks\n' : renderTable(TASK_COLUMNS, tasks.map(taskRow)) + more;
    });
    return 0;
  },
});

export const cancel = apiCommand({
  name: 'cancel',
  usage: 'usage: drover cancel ID\n\nCancels a task and every task it spawned; a running one is aborted within about a second.',
  async run(input) {
    const t = await input.client.cancel(onlyId(input), { signal: input.signal });
    // A running task ends once its handler has seen the abort: `drover wait` shows when.
    output(input, t, () => `${t.id}  ${isFinished(t.status) ? t.status : 'cancel requested'}\n`);
    return 0;
  },
});

export const events = apiCommand({
  name: 'events',
  usage: `usage: drover events ID [--children]
       drover events --all [--type T] [--queue Q] [--status S]

Follows a task's events (state changes, progress, log lines) until it ends, or every task of your
tenant with --all (until Ctrl-C). Reconnects by itself without missing or repeating an event.`,
  options: { children: { type: 'boolean' }, all: { type: 'boolean' }, type: { type: 'string' }, queue: { type: 'string' }, status: { type: 'string' } },
  async run(input) {
    const v = input.values;
    let target: string | { type?: string; queue?: string; status?: TaskStatus };
    if (v['all']) {
      if (input.positionals.length > 0) throw new UsageError('Give either a task ID or --all, not both.');
      target = {
        ...(stringFlag(v, 'type') ? { type: stringFlag(v, 'type')! } : {}),
        ...(stringFlag(v, 'queue') ? { queue: stringFlag(v, 'queue')! } : {}),
        ...(stringFlag(v, 'status') ? { status: stringFlag(v, 'status') as TaskStatus } : {}),
      };
    } else {
      target = onlyId(input);
    }
    try {
      for await (const e of input.client.events(target, { ...(v['children'] ? { children: true } : {}), signal: input.signal })) {
        if (input.json) {
          input.stdout.write(`${JSON.stringify(e)}\n`);
          continue;
        }
        const what = e.event === 'state' ? e.data.status : e.event === 'progress' ? `progress ${JSON.stringify(e.data.progress)}` : `${e.data.level}: ${e.data.msg}`;
        input.stdout.write(`${e.data.at}  ${e.data.taskId}  ${e.event.padEnd(8)}  ${what}\n`);
      }
    } catch (err) {
      if (!input.signal.aborted) throw err;
    }
    return 0;
  },
});

function onlyId(input: CommandInput): string {
  const [id, ...extra] = input.positionals;
  if (!id) throw new UsageError('A task ID is required.');
  if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}`);
  return id;
}
