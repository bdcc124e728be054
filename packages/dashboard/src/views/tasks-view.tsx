import { useState } from 'preact/hooks';
import type { DroverClient, ListTasksQuery, TaskStatus } from '@drover/client';
import { TASK_STATUSES } from '../api/records.js';
import { FilterSelect } from '../components/filter-select.js';
import { when } from '../components/local-time.js';
import { Notice } from '../components/notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { usePoll } from '../components/use-poll.js';
import { href, navigate } from '../router.js';
import { SubmitForm } from './submit-form.js';

const PAGE = 25;

/** The tenant's tasks, oldest first, filtered by queue, status and type, a page at a time (cursor in the hash). */
export function TasksView({ client, query }: { client: DroverClient; query: URLSearchParams }) {
  const filter = { queue: query.get('queue') ?? '', status: query.get('status') ?? '', type: query.get('type') ?? '' };
  const cursor = query.get('cursor') ?? '';
  // Cursors of the pages before this one, so "previous" can go back (the API's cursors only go forward).
  const [previous, setPrevious] = useState<string[]>([]);
  const page = usePoll(() => client.list(listQuery(filter, cursor, PAGE)), 3000, [client, filter.queue, filter.status, filter.type, cursor]);
  const queues = usePoll(() => client.queues.list(), 0, [client]);
  const types = usePoll(() => client.taskTypes.list(), 0, [client]);

  const go = (next: Partial<typeof filter> & { cursor?: string }) => navigate(href('tasks', { ...filter, ...next }));
  const refilter = (next: Partial<typeof filter>) => {
    setPrevious([]);
    go({ ...next, cursor: '' });
  };

  return (
    <section>
      <h1>Tasks</h1>
      <SubmitForm client={client} types={types.data ?? []} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect label="queue" name="queue" value={filter.queue} options={(queues.data ?? []).map((q) => q.name)} onChange={(queue) => refilter({ queue })} />
        <FilterSelect label="status" name="status" value={filter.status} options={TASK_STATUSES} onChange={(status) => refilter({ status })} />
        <FilterSelect label="type" name="type" value={filter.type} options={(types.data ?? []).map((t) => t.name)} onChange={(type) => refilter({ type })} />
      </form>
      <Notice error={page.error} />
      <table class="grid" aria-label="tasks">
        <thead>
          <tr>
            <th>id</th>
            <th>type</th>
            <th>queue</th>
            <th>status</th>
            <th class="num">attempt</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {(page.data?.items ?? []).map((t) => (
            <tr key={t.id} data-task={t.id}>
              <td>
                <a href={href('tasks', t.id)}>{t.id}</a>
              </td>
              <td>{t.type}</td>
              <td>{t.queue}</td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td class="num">
                {t.attempt}/{t.maxAttempts}
              </td>
              <td>{when(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data && page.data.items.length === 0 ? <p class="muted">No tasks on this page.</p> : null}
      <div class="pager">
        <button
          type="button"
          disabled={!cursor}
          onClick={() => {
            const back = previous.slice(0, -1);
            go({ cursor: previous[previous.length - 1] ?? '' });
            setPrevious(back);
          }}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            setPrevious([...previous, cursor]);
            go({ cursor: page.data?.nextCursor ?? '' });
          }}
        >
          Next
        </button>
      </div>
    </section>
  );
}

/** The query for one page: empty filters left out (the API refuses an empty queue name). */
function listQuery(filter: { queue: string; status: string; type: string }, cursor: string, limit: number): ListTasksQuery {
  const q: ListTasksQuery = { limit };
  if (filter.queue) q.queue = filter.queue;
  if (filter.type) q.type = filter.type;
  if ((TASK_STATUSES as readonly string[]).includes(filter.status)) q.status = filter.status as TaskStatus;
  if (cursor) q.cursor = cursor;
  return q;
}
