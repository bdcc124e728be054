import { useRef, useState } from 'preact/hooks';
import { messageOf } from '../api/session-client.js';
import type { DroverClient, QueueInfo } from '@drover/client';
import { Notice } from '../components/notice.js';
import { Sparkline } from '../components/sparkline.js';
import { usePoll } from '../components/use-poll.js';
import { href } from '../router.js';

const POLL_MS = 3000;
const SAMPLES = 40;

interface Throughput {
  finished: number;
  at: number;
  perSecond: number[];
}

/**
 * Depth by state, backlog and pause state of every queue. Throughput is the rise in finished
 * tasks (succeeded + failed + canceled) between two polls; the API keeps no history, so the
 * line starts when the page opens.
 */
export function QueuesView({ client }: { client: DroverClient }) {
  const history = useRef(new Map<string, Throughput>());
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const queues = usePoll(
    async () => {
      const list = await client.queues.list();
      const now = Date.now();
      for (const q of list) {
        const finished = q.succeeded + q.failed + q.canceled;
        const h = history.current.get(q.name);
        if (!h) {
          history.current.set(q.name, { finished, at: now, perSecond: [] });
          continue;
        }
        // Retained counts fall when results expire or dead letters go: that is not negative work.
        const rate = Math.max(0, finished - h.finished) / Math.max(0.001, (now - h.at) / 1000);
        h.perSecond = [...h.perSecond, rate].slice(-SAMPLES);
        h.finished = finished;
        h.at = now;
      }
      return list;
    },
    POLL_MS,
    [client],
  );

  const toggle = async (q: QueueInfo) => {
    setError(undefined);
    setInfo(undefined);
    try {
      const after = await (q.paused ? client.queues.resume(q.name) : client.queues.pause(q.name));
      setInfo(`Queue ${after.name} is ${after.paused ? 'paused' : 'running again'}.`);
      queues.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section>
      <h1>Queues</h1>
      <Notice error={error ?? queues.error} info={info} />
      <table class="grid">
        <thead>
          <tr>
            <th>queue</th>
            <th>state</th>
            <th class="num">queued</th>
            <th class="num">delayed</th>
            <th class="num">waiting</th>
            <th class="num">running</th>
            <th class="num">succeeded</th>
            <th class="num">failed</th>
            <th class="num">canceled</th>
            <th class="num">backlog</th>
            <th>throughput (tasks/s)</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(queues.data ?? []).map((q) => {
            const rates = history.current.get(q.name)?.perSecond ?? [];
            const last = rates[rates.length - 1];
            return (
              <tr key={q.name} data-queue={q.name}>
                <td>
                  <a href={href('tasks', { queue: q.name })}>{q.name}</a>
                </td>
                <td>{q.paused ? <span class="status status-paused">paused</span> : <span class="status status-active">active</span>}</td>
                <td class="num">{q.queued}</td>
                <td class="num">{q.delayed}</td>
                <td class="num">{q.waiting}</td>
                <td class="num">{q.running}</td>
                <td class="num">{q.succeeded}</td>
                <td class="num">
                  <a href={href('dead-letters', { queue: q.name })}>{q.failed}</a>
                </td>
                <td class="num">{q.canceled}</td>
                <td class="num strong">{q.backlog}</td>
                <td class="spark">
                  <Sparkline values={rates} slots={SAMPLES} label={`${q.name} throughput, tasks finished per second over the last ${(SAMPLES * POLL_MS) / 60000} minutes`} /> <span class="muted">{last === undefined ? '…' : last.toFixed(1)}</span>
                </td>
                <td>
                  <button type="button" onClick={() => toggle(q)}>
                    {q.paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="muted">Backlog is queued + running, the figure autoscaling reads. Pause and resume are for admin tenants (DROVER_ADMIN_TENANTS).</p>
    </section>
  );
}
