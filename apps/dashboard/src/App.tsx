import { useEffect, useMemo, useState } from 'react';
import { Api, loadSession, saveSession, type Session } from './api';
import { parseRoute } from './usage-math';
import { CustomerView } from './views/CustomerView';
import { Operations } from './views/Operations';
import { SignIn } from './views/SignIn';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/**
 * Routes (in the URL fragment, so the gateway serves one page and a portal token in the link never reaches a server
 * log): #/ operations, #/customers/<id> one customer, #/portal?token=… a customer's own view opened with a portal token.
 */
export function App() {
  const hash = useHash();
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [portalError, setPortalError] = useState('');
  const route = parseRoute(hash);

  // A portal link: exchange nothing, just ask the gateway whose token it is, keep it, and drop it from the address bar.
  const portalToken = route.parts[0] === 'portal' ? route.query.get('token') : null;
  useEffect(() => {
    if (!portalToken) return;
    new Api(portalToken)
      .json<{ customer: string; expiresAt: string }>('/api/v1/portal/session')
      .then((s) => {
        const next: Session = { kind: 'portal', token: portalToken, customer: s.customer, expiresAt: s.expiresAt };
        saveSession(next);
        setSession(next);
        history.replaceState(null, '', `${location.pathname}#/portal`);
        setPortalError('');
      })
      .catch((e: Error) => setPortalError(e.message));
  }, [portalToken]);

  const api = useMemo(() => (session ? new Api(session.token) : null), [session]);
  const signOut = () => {
    saveSession(null);
    setSession(null);
    location.hash = '#/';
  };

  if (portalError) {
    return (
      <main className="signin">
        <h1>Link not valid</h1>
        <p role="alert">{portalError}</p>
      </main>
    );
  }
  if (portalToken && session?.token !== portalToken) return <p role="status">Opening…</p>;
  if (!session || !api) {
    return (
      <SignIn
        onSignedIn={(key) => {
          const next: Session = { kind: 'key', token: key };
          saveSession(next);
          setSession(next);
        }}
      />
    );
  }

  let content;
  if (session.kind === 'portal') {
    // A portal session shows its own customer whatever the route says; the gateway enforces the same.
    content = <CustomerView api={api} customerId={session.customer} portal />;
  } else if (route.parts[0] === 'customers' && route.parts[1]) {
    content = <CustomerView api={api} customerId={route.parts[1]} portal={false} />;
  } else {
    content = <Operations api={api} />;
  }
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Tally</span>
        <nav aria-label="Main">
          {session.kind === 'key' ? (
            <a href="#/" aria-current={route.parts.length === 0 ? 'page' : undefined}>
              Operations
            </a>
          ) : (
            <span>Your usage · link valid until {session.expiresAt.slice(0, 16).replace('T', ' ')} UTC</span>
          )}
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </>
  );
}
