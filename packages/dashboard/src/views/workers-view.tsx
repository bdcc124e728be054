import type { DroverClient } from '@drover/client';
import { when } from '../components/local-time.js';
import { Notice } from '../components/notice.js';
import { usePoll } from '../components/use-poll.js';

/** Live workers (heartbeat not expired), refreshed every 3 s; where they run is shown to admin tenants only. */
export function WorkersView({ client }: { client: DroverClient }) {
  const workers = usePoll(() => client.workers.list(), 3000, [client]);
  const list = workers.data ?? [];
  const capacity = list.reduce((n, w) => n + w.concurrency, 0);
  const busy = list.reduce((n, w) => n + w.busy, 0);
  return (
    <section>
      <h1>Workers</h1>
      <Notice error={workers.error} />
      <p class="summary" data-testid="workers-summary">
        {list.length} worker{list.length === 1 ? '' : 's'}, {busy} of {capacity} slots busy
      </p>
      <table class="grid" aria-label="workers">
        <thead>
          <tr>
            <th>worker</th>
            <th>queues</th>
            <th>task types</th>
            <th class="num">busy</th>
            <th class="num">slots</th>
            <th>state</th>
            <th>started</th>
            <th>last seen</th>
          </tr>
        </thead>
        <tbody>
          {list.map((w, i) => (
            <tr key={w.id ?? i}>
              <td>{w.id ? `${w.id}${w.hostname ? ` (${w.hostname}, pid ${w.pid})` : ''}` : <span class="muted">hidden (admin only)</span>}</td>
              <td>{w.queues.join(', ')}</td>
              <td class="wrap">{w.taskTypes.join(', ')}</td>
              <td class="num">{w.busy}</td>
              <td class="num">{w.concurrency}</td>
              <td>{w.draining ? <span class="status status-paused">draining</span> : <span class="status status-active">serving</span>}</td>
              <td>{when(w.startedAt)}</td>
              <td>{when(w.lastSeenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {workers.data && list.length === 0 ? <p class="muted">No live workers: tasks wait in their queues until one starts.</p> : null}
    </section>
  );
}
