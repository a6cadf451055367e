import { useState } from 'preact/hooks';
import { HeraldApiError, errorMessage } from '../../api/client';
import { sessions, type Session } from '../../api/resources';

/**
 * Console sign-in: the API key goes once to POST /v1/sessions, which answers with a session
 * cookie. The key is not kept anywhere, not even in this component after the call.
 */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main class="center-screen" id="main">
      <form
        class="card signin stack"
        aria-labelledby="signin-h"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!key.trim()) return setError('Enter the API key.');
          setBusy(true);
          setError('');
          try {
            const s = await sessions.signIn(key.trim());
            setKey('');
            onSignedIn(s);
          } catch (err) {
            setError(err instanceof HeraldApiError && err.status === 401 ? 'That API key is not valid.' : errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="brand brand-center">
          <span class="logo-mark" aria-hidden="true">H</span>
          <span class="brand-name">Herald</span>
        </div>
        <h1 id="signin-h">Sign in to the console</h1>
        {notice && <p class="notice notice-warn">{notice}</p>}
        <label>
          <span class="label">API key</span>
          <input type="password" name="api-key" autocomplete="off" spellcheck={false} value={key} onInput={(e) => setKey(e.currentTarget.value)} autoFocus />
        </label>
        <p class="muted small">It was printed when Herald first started, and is in <code>data/api-key</code>.</p>
        {error && <p class="error-text" role="alert">{error}</p>}
        <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
