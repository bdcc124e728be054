import { useState } from 'preact/hooks';
import { messageOf } from '../api/session-client.js';
import type { DroverClient, TaskTypeView } from '@drover/client';
import { Notice } from '../components/notice.js';
import { href, navigate } from '../router.js';

/** Submit a task of a known type with a JSON input, then open it. */
export function SubmitForm({ client, types }: { client: DroverClient; types: TaskTypeView[] }) {
  const [type, setType] = useState('');
  const [input, setInput] = useState('{}');
  const [error, setError] = useState<string | undefined>(undefined);
  const chosen = type || types[0]?.name || '';

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let parsed: unknown;
    try {
      parsed = input.trim() === '' ? undefined : JSON.parse(input);
    } catch {
      setError('The input is not valid JSON.');
      return;
    }
    try {
      const task = await client.submit({ type: chosen, ...(parsed === undefined ? {} : { input: parsed }) });
      navigate(href('tasks', task.id));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <form class="panel" onSubmit={submit} aria-label="Submit a task">
      <h2>Submit a task</h2>
      <label>
        type{' '}
        <select name="submit-type" value={chosen} onChange={(e) => setType(e.currentTarget.value)}>
          {types.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        input (JSON) <textarea name="submit-input" rows={3} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!chosen}>
        Submit
      </button>
      <Notice error={error} />
    </form>
  );
}
