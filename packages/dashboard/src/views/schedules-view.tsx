import { useState } from 'preact/hooks';
import { messageOf } from '../api/session-client.js';
import type { CreateSchedule, DroverClient } from '@drover/client';
import { when } from '../components/local-time.js';
import { Notice } from '../components/notice.js';
import { usePoll } from '../components/use-poll.js';
import { href } from '../router.js';

/** The tenant's schedules (cron or fixed interval): list, create, delete. */
export function SchedulesView({ client }: { client: DroverClient }) {
  const schedules = usePoll(() => client.schedules.list(), 5000, [client]);
  const types = usePoll(() => client.taskTypes.list(), 0, [client]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [kind, setKind] = useState<'cron' | 'every'>('cron');
  const [expr, setExpr] = useState('*/5 * * * *');
  const [timezone, setTimezone] = useState('UTC');
  const [type, setType] = useState('');
  const [input, setInput] = useState('{}');
  const chosen = type || types.data?.[0]?.name || '';

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setInfo(undefined);
    let parsed: unknown;
    try {
      parsed = input.trim() === '' ? undefined : JSON.parse(input);
    } catch {
      setError('The input is not valid JSON.');
      return;
    }
    const task = { type: chosen, ...(parsed === undefined ? {} : { input: parsed }) };
    const req: CreateSchedule = kind === 'cron' ? { cron: expr.trim(), timezone, task } : { everyMs: Number(expr), task };
    try {
      const s = await client.schedules.create(req);
      setInfo(`Created ${s.id}; next tick ${when(s.nextTickAt)}.`);
      schedules.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const remove = async (id: string) => {
    setError(undefined);
    setInfo(undefined);
    try {
      await client.schedules.delete(id);
      setInfo(`Deleted ${id}.`);
    } catch (err) {
      setError(messageOf(err));
    }
    schedules.reload();
  };

  const list = schedules.data ?? [];
  return (
    <section>
      <h1>Schedules</h1>
      <form class="panel" onSubmit={create} aria-label="Create a schedule">
        <h2>Create a schedule</h2>
        <label>
          by{' '}
          <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value === 'every' ? 'every' : 'cron')}>
            <option value="cron">cron expression</option>
            <option value="every">interval (ms)</option>
          </select>
        </label>
        <label>
          {kind === 'cron' ? 'cron' : 'every ms'} <input name="expr" value={expr} onInput={(e) => setExpr(e.currentTarget.value)} />
        </label>
        {kind === 'cron' ? (
          <label>
            time zone <input name="timezone" value={timezone} onInput={(e) => setTimezone(e.currentTarget.value)} />
          </label>
        ) : null}
        <label>
          task type{' '}
          <select name="schedule-type" value={chosen} onChange={(e) => setType(e.currentTarget.value)}>
            {(types.data ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          input (JSON) <textarea name="schedule-input" rows={2} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={!chosen}>
          Create
        </button>
      </form>
      <Notice error={error ?? schedules.error} info={info} />
      <table class="grid" aria-label="schedules">
        <thead>
          <tr>
            <th>id</th>
            <th>when</th>
            <th>task</th>
            <th>next tick</th>
            <th>last tick</th>
            <th>last task</th>
            <th>last error</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr key={s.id} data-schedule={s.id}>
              <td>
                <code>{s.id}</code>
              </td>
              <td>{s.cron ? `${s.cron} (${s.timezone})` : `every ${s.everyMs} ms`}</td>
              <td>{s.task.type}</td>
              <td>{when(s.nextTickAt)}</td>
              <td>{when(s.lastTickAt)}</td>
              <td>{s.lastTaskId ? <a href={href('tasks', s.lastTaskId)}>{s.lastTaskId}</a> : '—'}</td>
              <td>{s.lastError ?? '—'}</td>
              <td>
                <button type="button" onClick={() => remove(s.id)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {schedules.data && list.length === 0 ? <p class="muted">No schedules.</p> : null}
    </section>
  );
}
