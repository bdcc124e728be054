import { useEffect, useState } from 'preact/hooks';
import { type DroverClient, type DroverEvent, DroverNotFoundError, type TaskRecord, type TaskTreeNode, isFinished } from '@drover/client';
import { messageOf } from '../api/session-client.js';
import { JsonBlock } from '../components/json-block.js';
import { when } from '../components/local-time.js';
import { Notice } from '../components/notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { href, navigate } from '../router.js';

const EVENTS_SHOWN = 200;

/**
 * One task: its record, its tree of children, and its events live over SSE (its own and its
 * descendants'), so a change of state shows without a reload. Cancel while it is unfinished;
 * retry a failed one (the dead-letter route) or resubmit a copy of a finished one.
 */
export function TaskView({ client, id }: { client: DroverClient; id: string }) {
  const [task, setTask] = useState<TaskRecord | undefined>(undefined);
  const [tree, setTree] = useState<TaskTreeNode | undefined>(undefined);
  const [events, setEvents] = useState<DroverEvent[]>([]);
  const [live, setLive] = useState<'connecting' | 'live' | 'ended' | 'failed'>('connecting');
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);

  useEffect(() => {
    const abort = new AbortController();
    setTask(undefined);
    setTree(undefined);
    setEvents([]);
    setError(undefined);
    setInfo(undefined);
    setLive('connecting');
    const refresh = async () => {
      const [t, tr] = await Promise.all([client.get(id, { signal: abort.signal }), client.tree(id, { signal: abort.signal })]);
      if (abort.signal.aborted) return;
      setTask(t);
      setTree(tr.tree);
    };
    const follow = async () => {
      try {
        await refresh();
        setLive('live');
        for await (const e of client.events(id, { children: true, signal: abort.signal })) {
          setEvents((list) => [...list, e].slice(-EVENTS_SHOWN));
          if (e.event === 'state' && e.data.taskId === id && e.data.status) {
            const status = e.data.status;
            setTask((t) => (t ? { ...t, status } : t));
          }
          if (e.event === 'progress' && e.data.taskId === id) {
            const progress = e.data.progress;
            setTask((t) => (t ? { ...t, progress } : t));
          }
          // Output, error, attempt and the children's states are in the record and the tree.
          if (e.event === 'state') await refresh();
        }
        if (abort.signal.aborted) return;
        await refresh();
        setLive('ended');
      } catch (err) {
        if (abort.signal.aborted) return;
        setLive('failed');
        setError(err instanceof DroverNotFoundError ? `No task ${id} for this tenant (unknown, expired, or another tenant's).` : messageOf(err));
      }
    };
    void follow();
    return () => abort.abort();
  }, [client, id]);

  const act = async (what: () => Promise<TaskRecord>, done: (t: TaskRecord) => void) => {
    setError(undefined);
    setInfo(undefined);
    try {
      done(await what());
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (!task) {
    return (
      <section>
        <h1>Task {id}</h1>
        <Notice error={error} info={error ? undefined : 'Loading…'} />
      </section>
    );
  }

  const finished = isFinished(task.status);
  return (
    <section>
      <h1>
        Task <code>{task.id}</code> <StatusBadge status={task.status} />
        <span class={`live live-${live}`} data-testid="live">
          {live === 'live' ? 'live' : live === 'ended' ? 'finished' : live}
        </span>
      </h1>
      <Notice error={error} info={info} />
      <div class="actions">
        {!finished ? (
          <button
            type="button"
            onClick={() =>
              act(
                () => client.cancel(task.id),
                (t) => {
                  // The stream may already have said canceled while this answer still says running.
                  setTask((cur) => (cur && isFinished(cur.status) && !isFinished(t.status) ? cur : t));
                  setInfo(t.status === 'canceled' ? 'Canceled.' : 'Cancel requested: the running handler was signalled.');
                },
              )
            }
          >
            Cancel
          </button>
        ) : null}
        {task.status === 'failed' ? (
          <button type="button" onClick={() => act(() => client.deadLetters.retry(task.id), (t) => navigate(href('tasks', t.id)))}>
            Retry
          </button>
        ) : null}
        {finished && task.status !== 'failed' ? (
          <button
            type="button"
            onClick={() =>
              act(
                () => client.submit({ type: task.type, queue: task.queue, input: task.input, priority: task.priority, maxAttempts: task.maxAttempts, timeoutMs: task.timeoutMs }),
                (t) => navigate(href('tasks', t.id)),
              )
            }
          >
            Resubmit
          </button>
        ) : null}
      </div>
      <dl class="facts">
        <dt>type</dt>
        <dd>{task.type}</dd>
        <dt>queue</dt>
        <dd>{task.queue}</dd>
        <dt>attempt</dt>
        <dd>
          {task.attempt} of {task.maxAttempts}
        </dd>
        <dt>priority</dt>
        <dd>{task.priority}</dd>
        <dt>timeout</dt>
        <dd>{task.timeoutMs} ms</dd>
        <dt>parent</dt>
        <dd>{task.parentId ? <a href={href('tasks', task.parentId)}>{task.parentId}</a> : '—'}</dd>
        <dt>created</dt>
        <dd>{when(task.createdAt)}</dd>
        <dt>started</dt>
        <dd>{when(task.startedAt)}</dd>
        <dt>finished</dt>
        <dd>{when(task.finishedAt)}</dd>
      </dl>
      <div class="columns">
        <div>
          <h2>Input</h2>
          <JsonBlock value={task.input} />
          <h2>Progress</h2>
          <JsonBlock value={task.progress} />
        </div>
        <div>
          <h2>Output</h2>
          <JsonBlock value={task.output} />
          <h2>Error</h2>
          {task.error ? (
            <p class="task-error">
              <code>{task.error.code}</code> {task.error.message} {task.error.retryable ? <span class="muted">(retryable)</span> : null}
            </p>
          ) : (
            <span class="muted">—</span>
          )}
        </div>
      </div>
      <h2>Tree</h2>
      {tree && tree.children.length > 0 ? <TreeList node={tree} root={task.id} /> : <p class="muted">No children.</p>}
      <h2>Events</h2>
      <ol class="events" aria-label="events">
        {events.map((e, i) => (
          <li key={e.id ?? i}>
            <span class="muted">{when(e.data.at)}</span> {e.data.taskId === task.id ? null : <code>{e.data.taskId}</code>} <strong>{e.event}</strong>{' '}
            {e.event === 'state' && e.data.status ? e.data.status : e.event === 'log' ? `${e.data.level}: ${e.data.msg}` : e.event === 'progress' ? JSON.stringify(e.data.progress) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TreeList({ node, root }: { node: TaskTreeNode; root: string }) {
  return (
    <ul class="tree">
      <li>
        {node.id === root ? <code>{node.id}</code> : <a href={href('tasks', node.id)}>{node.id}</a>} {node.type} <StatusBadge status={node.status} />
        {node.children.length > 0 ? node.children.map((c) => <TreeList key={c.id} node={c} root={root} />) : null}
      </li>
    </ul>
  );
}
