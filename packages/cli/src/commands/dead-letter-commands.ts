import { type CommandInput, apiCommand, intFlag, output, stringFlag } from '../api/api-command.js';
import { UsageError } from '../api/cli-connection.js';
import { ago, renderTable } from '../api/table.js';

function filterOf(input: CommandInput): { queue?: string; type?: string; code?: string } {
  const v = input.values;
  return {
    ...(stringFlag(v, 'queue') ? { queue: stringFlag(v, 'queue')! } : {}),
    ...(stringFlag(v, 'type') ? { type: stringFlag(v, 'type')! } : {}),
    ...(stringFlag(v, 'code') ? { code: stringFlag(v, 'code')! } : {}),
  };
}

export const deadLetters = apiCommand({
  name: 'dead-letters',
  usage: `usage: drover dead-letters [--queue Q] [--type T] [--code CODE] [--limit N]
       drover dead-letters retry ID | discard ID
       drover dead-letters retry-all | discard-all [--queue Q] [--type T] [--code CODE]

Tasks that used up their attempts (or were quarantined): list them, retry one (a new task with the
same input) or discard it, or do either to every one that matches the filters.`,
  options: { queue: { type: 'string' }, type: { type: 'string' }, code: { type: 'string' }, limit: { type: 'string' } },
  async run(input) {
    const [action, id, ...extra] = input.positionals;
    const api = input.client.deadLetters;
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}`);
    if (action === undefined) {
      const page = await api.list({ ...filterOf(input), limit: intFlag(input.values, 'limit', 1) ?? 20 }, { signal: input.signal });
      output(input, page, () =>
        page.items.length === 0
          ? 'no dead letters\n'
          : renderTable(
              ['id', 'type', 'queue', 'error', 'attempts', 'failed'],
              page.items.map((t) => [t.id, t.type, t.queue, t.error?.code, t.attempt, ago(t.finishedAt)]),
            ) + (page.nextCursor ? '(more: raise --limit)\n' : ''),
      );
      return 0;
    }
    if (action === 'retry' || action === 'discard') {
      if (!id) throw new UsageError(`drover dead-letters ${action} takes a dead letter's ID (or use ${action}-all).`);
      if (action === 'retry') {
        const task = await api.retry(id, { signal: input.signal });
        output(input, task, () => `${id} retried as ${task.id}\n`);
      } else {
        const r = await api.discard(id, { signal: input.signal });
        output(input, r, () => `${id}  discarded\n`);
      }
      return 0;
    }
    if (action === 'retry-all' || action === 'discard-all') {
      if (id) throw new UsageError(`drover dead-letters ${action} takes filters, not an ID.`);
      let count = 0;
      const ids: string[] = [];
      for (;;) {
        const r = action === 'retry-all' ? await api.bulkRetry(filterOf(input), { signal: input.signal }) : await api.bulkDiscard(filterOf(input), { signal: input.signal });
        count += r.count;
        ids.push(...r.ids);
        if (!r.more || r.count === 0) break;
      }
      output(input, { count, ids }, () => `${count} dead letter${count === 1 ? '' : 's'} ${action === 'retry-all' ? 'retried' : 'discarded'}\n`);
      return 0;
    }
    throw new UsageError(`Unknown action ${JSON.stringify(action)}: retry, discard, retry-all or discard-all (or none to list).`);
  },
});
