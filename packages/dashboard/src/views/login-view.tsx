import { useState } from 'preact/hooks';
import { DroverAuthError } from '@drover/client';
import { messageOf, sessionClient } from '../api/session-client.js';
import { Notice } from '../components/notice.js';

/** Paste a key; it is checked with GET /v1/queues before it is kept (in sessionStorage). */
export function LoginView({ onLogin, notice }: { onLogin: (key: string) => void; notice: string | undefined }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return;
    setBusy(true);
    setError(undefined);
    try {
      await sessionClient(k).queues.list();
      onLogin(k);
    } catch (err) {
      setError(err instanceof DroverAuthError && err.status === 401 ? 'That API key is not valid (it is not one of DROVER_API_KEYS).' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>Drover</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      <Notice error={error ?? notice} />
      <p class="muted">The key stays in this tab (sessionStorage) and is sent only to this server, as a bearer token.</p>
    </main>
  );
}
