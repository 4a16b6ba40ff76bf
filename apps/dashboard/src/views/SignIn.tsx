import { useState } from 'react';
import { Api, ApiError } from '../api';

/** Sign-in with a tenant API key: checked with one read before it is kept (sessionStorage, this tab only). */
export function SignIn({ onSignedIn }: { onSignedIn(key: string): void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Tally dashboard</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            await new Api(key.trim()).json('/api/v1/meters');
            onSignedIn(key.trim());
          } catch (err) {
            setError(err instanceof ApiError && err.status === 401 ? 'That API key is not valid.' : `Could not sign in: ${(err as Error).message}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="api-key">Tenant API key</label>
        <input id="api-key" type="password" autoComplete="off" required value={key} onChange={(e) => setKey(e.target.value)} aria-describedby="api-key-help" aria-invalid={error ? true : undefined} />
        <p id="api-key-help" className="muted small">
          Kept in this tab only and sent to this origin&apos;s APIs.
        </p>
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
