import { useMemo, useState } from 'preact/hooks';
import { sessionClient } from './api/session-client.js';
import { AgentCapMeter } from './components/agent-cap.js';
import { href, useRoute } from './router.js';
import { forgetKey, storeKey, storedKey } from './session.js';
import { DeadLettersView } from './views/dead-letters-view.js';
import { LoginView } from './views/login-view.js';
import { QueuesView } from './views/queues-view.js';
import { SchedulesView } from './views/schedules-view.js';
import { TaskView } from './views/task-view.js';
import { TasksView } from './views/tasks-view.js';
import { WorkersView } from './views/workers-view.js';

const SECTIONS = [
  ['queues', 'Queues'],
  ['tasks', 'Tasks'],
  ['dead-letters', 'Dead letters'],
  ['workers', 'Workers'],
  ['schedules', 'Schedules'],
] as const;

export function App() {
  const [key, setKey] = useState(storedKey);
  const [loggedOut, setLoggedOut] = useState<string | undefined>(undefined);
  const route = useRoute();
  const client = useMemo(() => {
    if (!key) return null;
    return sessionClient(key, () => {
      forgetKey();
      setKey(null);
      setLoggedOut('The server refused the API key (revoked or rotated?); log in again.');
    });
  }, [key]);

  if (!client) {
    return (
      <LoginView
        notice={loggedOut}
        onLogin={(k) => {
          storeKey(k);
          setLoggedOut(undefined);
          setKey(k);
        }}
      />
    );
  }

  const [section = 'queues', id] = route.path;
  return (
    <>
      <header class="top">
        <span class="brand">Drover</span>
        <nav>
          {SECTIONS.map(([name, label]) => (
            <a key={name} href={href(name)} class={section === name ? 'current' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <AgentCapMeter />
        <button
          type="button"
          class="link"
          onClick={() => {
            forgetKey();
            setKey(null);
          }}
        >
          Log out
        </button>
      </header>
      <main>
        {section === 'tasks' && id ? <TaskView client={client} id={id} /> : null}
        {section === 'tasks' && !id ? <TasksView client={client} query={route.query} /> : null}
        {section === 'queues' ? <QueuesView client={client} /> : null}
        {section === 'dead-letters' ? <DeadLettersView client={client} query={route.query} /> : null}
        {section === 'workers' ? <WorkersView client={client} /> : null}
        {section === 'schedules' ? <SchedulesView client={client} /> : null}
        {!SECTIONS.some(([name]) => name === section) ? <p class="notice error">No page {JSON.stringify(section)} here.</p> : null}
      </main>
    </>
  );
}
