// Sign in with an API key (the one `make demo` or `tailor key create` printed).
import { useState } from 'preact/hooks';
import { api, storeKey } from '../api.js';

export function SignIn({ onSignedIn }) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const self = await api('/v1/keys/self', { key: key.trim() });
      storeKey(key.trim(), remember);
      onSignedIn({ key: key.trim(), ...self });
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">tailor</h1>
        <p>Sign in with an API key.</p>
        <label for="key">API key</label>
        <input id="key" type="password" autocomplete="current-password" value={key} required
          placeholder="tk_…" onInput={(e) => setKey(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} />
          Remember on this browser
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy || !key.trim()}>Sign in</button>
      </form>
    </main>
  );
}
