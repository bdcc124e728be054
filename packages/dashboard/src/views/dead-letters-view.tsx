import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { messageOf } from '../api/session-client.js';
import type { DroverClient, TaskRecord } from '@drover/client';
import { FilterSelect } from '../components/filter-select.js';
import { when } from '../components/local-time.js';
import { Notice } from '../components/notice.js';
import { usePoll } from '../components/use-poll.js';
import { href, navigate } from '../router.js';

const PAGE = 25;

/** The tenant's failed tasks: retry (as a new task) or discard, one by one or every one matching the filter. */
export function DeadLettersView({ client, query }: { client: DroverClient; query: URLSearchParams }) {
  const filter = { queue: query.get('queue') ?? '', type: query.get('type') ?? '', code: query.get('code') ?? '' };
  const cursor = query.get('cursor') ?? '';
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<ComponentChildren>(undefined);
  const [confirming, setConfirming] = useState<'retry' | 'discard' | undefined>(undefined);
  const page = usePoll(() => client.deadLetters.list(defined({ ...filter, cursor, limit: PAGE })), 5000, [client, filter.queue, filter.type, filter.code, cursor]);
  const queues = usePoll(() => client.queues.list(), 0, [client]);
  const types = usePoll(() => client.taskTypes.list(), 0, [client]);
  const go = (next: Partial<typeof filter> & { cursor?: string }) => navigate(href('dead-letters', { ...filter, cursor: '', ...next }));

  const run = async (what: () => Promise<ComponentChildren>) => {
    setError(undefined);
    setInfo(undefined);
    setConfirming(undefined);
    try {
      setInfo(await what());
    } catch (err) {
      setError(messageOf(err));
    }
    page.reload();
  };
  const retryOne = (t: TaskRecord) =>
    run(async () => {
      const task = await client.deadLetters.retry(t.id);
      return (
        <>
          Retried {t.id} as <a href={href('tasks', task.id)}>{task.id}</a>.
        </>
      );
    });
  const discardOne = (t: TaskRecord) =>
    run(async () => {
      await client.deadLetters.discard(t.id);
      return `Discarded ${t.id}.`;
    });
  const bulk = (action: 'retry' | 'discard') =>
    run(async () => {
      const r = await (action === 'retry' ? client.deadLetters.bulkRetry(defined(filter)) : client.deadLetters.bulkDiscard(defined(filter)));
      const more = r.more ? ' More still match: run it again.' : '';
      return `${action === 'retry' ? 'Retried' : 'Discarded'} ${r.count} dead letter${r.count === 1 ? '' : 's'}.${more}`;
    });

  const items = page.data?.items ?? [];
  return (
    <section>
      <h1>Dead letters</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect label="queue" name="queue" value={filter.queue} options={(queues.data ?? []).map((q) => q.name)} onChange={(queue) => go({ queue })} />
        <FilterSelect label="type" name="type" value={filter.type} options={(types.data ?? []).map((t) => t.name)} onChange={(type) => go({ type })} />
        <label>
          error code{' '}
          <input
            name="code"
            placeholder="DROVER_ERR_…"
            value={filter.code}
            onChange={(e) => go({ code: e.currentTarget.value.trim() })}
          />
        </label>
      </form>
      <div class="actions">
        {(['retry', 'discard'] as const).map((action) =>
          confirming === action ? (
            <button key={action} type="button" class="danger" onClick={() => bulk(action)}>
              Confirm: {action} every matching dead letter
            </button>
          ) : (
            <button key={action} type="button" disabled={items.length === 0} onClick={() => setConfirming(action)}>
              {action === 'retry' ? 'Retry all matching' : 'Discard all matching'}
            </button>
          ),
        )}
      </div>
      <Notice error={error ?? page.error} info={info} />
      <table class="grid" aria-label="dead letters">
        <thead>
          <tr>
            <th>id</th>
            <th>type</th>
            <th>queue</th>
            <th>error</th>
            <th class="num">attempts</th>
            <th>failed at</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.id} data-task={t.id}>
              <td>
                <a href={href('tasks', t.id)}>{t.id}</a>
              </td>
              <td>{t.type}</td>
              <td>{t.queue}</td>
              <td>
                <code>{t.error?.code ?? '—'}</code> {t.error?.message}
              </td>
              <td class="num">
                {t.attempt}/{t.maxAttempts}
              </td>
              <td>{when(t.finishedAt)}</td>
              <td class="row-actions">
                <button type="button" onClick={() => retryOne(t)}>
                  Retry
                </button>
                <button type="button" onClick={() => discardOne(t)}>
                  Discard
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data && items.length === 0 ? <p class="muted">No dead letters match.</p> : null}
      <div class="pager">
        <button type="button" disabled={!cursor} onClick={() => go({ cursor: '' })}>
          First page
        </button>
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => go({ cursor: page.data?.nextCursor ?? '' })}>
          Next
        </button>
      </div>
    </section>
  );
}

/** The filter without its empty fields (the API refuses an empty queue name). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== '' && v !== undefined)) as Partial<T>;
}
