import { apiCommand, output } from '../api/api-command.js';
import { UsageError } from '../api/cli-connection.js';
import { ago, renderTable } from '../api/table.js';

export const queues = apiCommand({
  name: 'queues',
  usage: `usage: drover queues
       drover queues pause NAME | resume NAME     (admin tenants only)

Lists the queues with their depth by state and backlog (queued + running).`,
  async run(input) {
    const [action, name, ...extra] = input.positionals;
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}`);
    if (action !== undefined) {
      if (action !== 'pause' && action !== 'resume') throw new UsageError(`Unknown action ${JSON.stringify(action)}: pause or resume.`);
      if (!name) throw new UsageError(`drover queues ${action} needs a queue NAME.`);
      const q = action === 'pause' ? await input.client.queues.pause(name, { signal: input.signal }) : await input.client.queues.resume(name, { signal: input.signal });
      output(input, q, () => `${q.name}  ${q.paused ? 'paused' : 'running'}\n`);
      return 0;
    }
    const list = await input.client.queues.list({ signal: input.signal });
    output(input, { queues: list }, () =>
      renderTable(
        ['queue', 'queued', 'delayed', 'waiting', 'running', 'succeeded', 'failed', 'canceled', 'backlog', 'paused'],
        list.map((q) => [q.name, q.queued, q.delayed, q.waiting, q.running, q.succeeded, q.failed, q.canceled, q.backlog, q.paused ? 'yes' : 'no']),
      ),
    );
    return 0;
  },
});

export const workers = apiCommand({
  name: 'workers',
  usage: 'usage: drover workers\n\nLists the live workers: their queues, capacity and busy slots.',
  async run(input) {
    if (input.positionals.length > 0) throw new UsageError(`Unexpected arguments: ${input.positionals.join(' ')}`);
    const list = await input.client.workers.list({ signal: input.signal });
    output(input, { workers: list }, () =>
      list.length === 0
        ? 'no live workers\n'
        : renderTable(
            ['worker', 'queues', 'capacity', 'busy', 'draining', 'seen'],
            list.map((w) => [w.id ?? w.hostname ?? '(hidden: admins only)', w.queues.join(','), w.concurrency, w.busy, w.draining ? 'yes' : 'no', ago(w.lastSeenAt)]),
          ),
    );
    return 0;
  },
});
