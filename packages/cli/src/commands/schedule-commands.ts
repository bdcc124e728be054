import { apiCommand, intFlag, output, readJsonArg, stringFlag } from '../api/api-command.js';
import { UsageError } from '../api/cli-connection.js';
import { renderTable } from '../api/table.js';

export const schedules = apiCommand({
  name: 'schedules',
  usage: `usage: drover schedules
       drover schedules create TYPE [INPUT_JSON] (--cron EXPR [--timezone TZ] | --every-ms N) [--queue Q] [--catch-up one|none]
       drover schedules get ID
       drover schedules delete ID

Lists, creates and deletes schedules: a cron expression (5 fields, or 6 with seconds first; UTC
unless --timezone) or a fixed interval; each tick submits one task, once across the cluster.`,
  options: { cron: { type: 'string' }, timezone: { type: 'string' }, 'every-ms': { type: 'string' }, queue: { type: 'string' }, 'catch-up': { type: 'string' } },
  async run(input) {
    const [action, ...args] = input.positionals;
    const api = input.client.schedules;
    if (action === undefined) {
      const list = await api.list({ signal: input.signal });
      output(input, { schedules: list }, () =>
        list.length === 0
          ? 'no schedules\n'
          : renderTable(
              ['id', 'when', 'type', 'next tick', 'last task', 'last error'],
              list.map((s) => [s.id, s.cron ? `${s.cron} (${s.timezone})` : `every ${s.everyMs} ms`, s.task.type, s.nextTickAt, s.lastTaskId, s.lastError]),
            ),
      );
      return 0;
    }
    if (action === 'get' || action === 'delete') {
      const [id, ...extra] = args;
      if (!id || extra.length > 0) throw new UsageError(`drover schedules ${action} takes one schedule ID.`);
      const result = action === 'get' ? await api.get(id, { signal: input.signal }) : await api.delete(id, { signal: input.signal });
      output(input, result, () => (action === 'get' ? `${JSON.stringify(result, null, 2)}\n` : `${id}  deleted\n`));
      return 0;
    }
    if (action !== 'create') throw new UsageError(`Unknown action ${JSON.stringify(action)}: create, get or delete (or none to list).`);
    const [type, inputText, ...extra] = args;
    if (!type || extra.length > 0) throw new UsageError('drover schedules create takes a task TYPE and optionally its INPUT_JSON.');
    const v = input.values;
    const cron = stringFlag(v, 'cron');
    const everyMs = intFlag(v, 'every-ms', 1000);
    if ((cron === undefined) === (everyMs === undefined)) throw new UsageError('Give exactly one of --cron and --every-ms.');
    const catchUp = stringFlag(v, 'catch-up');
    if (catchUp !== undefined && catchUp !== 'one' && catchUp !== 'none') throw new UsageError('--catch-up is one or none.');
    const created = await api.create(
      {
        ...(cron !== undefined ? { cron } : { everyMs: everyMs! }),
        ...(stringFlag(v, 'timezone') ? { timezone: stringFlag(v, 'timezone')! } : {}),
        ...(catchUp ? { catchUp } : {}),
        task: {
          type,
          ...(inputText === undefined ? {} : { input: await readJsonArg(inputText, 'INPUT_JSON') }),
          ...(stringFlag(v, 'queue') ? { queue: stringFlag(v, 'queue')! } : {}),
        },
      },
      { signal: input.signal },
    );
    output(input, created, () => `${created.id}  next tick ${created.nextTickAt ?? '-'}\n`);
    return 0;
  },
});
