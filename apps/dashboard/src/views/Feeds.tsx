import { useState } from 'react';
import { enc, type Api } from '../api';
import { AlertList, ChurnRiskList, DeadLetterList, ExpansionList } from '../components/FeedLists';
import { Pager } from '../components/Pager';
import { useAsync } from '../components/useAsync';
import type { AlertItem, ChurnRiskSignal, DeadLetterItem, ExpansionSignalItem, FeedPage } from '../types';

/**
 * One cursor-paged feed: the cursors of the pages seen so far are kept, so Previous needs no extra API. `path` is
 * the feed's URL with its filters; `limit` and `cursor` are added here.
 */
function usePagedFeed<T>(api: Api, path: string, limit: number) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1];
  const [page, retry] = useAsync(() => {
    const sep = path.includes('?') ? '&' : '?';
    return api.json<FeedPage<T>>(`${path}${sep}limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
  }, [api, path, limit, cursor]);
  const pager = (label: string) =>
    page.state === 'done' && (cursors.length > 1 || page.value.nextCursor !== null) ? (
      <Pager
        label={label}
        page={cursors.length}
        hasPrevious={cursors.length > 1}
        hasNext={page.value.nextCursor !== null}
        onPrevious={() => setCursors((c) => c.slice(0, -1))}
        onNext={() => {
          const next = page.state === 'done' ? page.value.nextCursor : null;
          if (next) setCursors((c) => [...c, next]);
        }}
      />
    ) : null;
  return { page, retry, pager };
}

function FeedState({ state, what, error, retry }: { state: 'loading' | 'error' | 'done'; what: string; error?: Error; retry(): void }) {
  if (state === 'loading') return <p role="status">Loading {what}…</p>;
  if (state === 'error') {
    return (
      <div role="alert">
        <p>
          Could not load {what}: {error?.message}
        </p>
        <button type="button" onClick={retry}>
          Retry
        </button>
      </div>
    );
  }
  return null;
}

/** The tenant's threshold alerts across customers (`GET /api/v1/alerts`), 20 per page. */
export function AlertsFeed({ api }: { api: Api }) {
  const { page, retry, pager } = usePagedFeed<AlertItem>(api, '/api/v1/alerts', 20);
  return (
    <section aria-labelledby="alerts-feed-h">
      <h2 id="alerts-feed-h">Threshold alerts</h2>
      <FeedState state={page.state} what="alerts" error={page.state === 'error' ? page.error : undefined} retry={retry} />
      {page.state === 'done' && <AlertList items={page.value.items} showCustomer label="Threshold alerts, newest first" />}
      {pager('Threshold alerts')}
    </section>
  );
}

type SignalType = 'churn-risk' | 'expansion';
const SIGNAL_TABS: Array<{ type: SignalType; label: string }> = [
  { type: 'churn-risk', label: 'Churn risk' },
  { type: 'expansion', label: 'Expansion' },
];

function SignalFeed({ api, type }: { api: Api; type: SignalType }) {
  const { page, retry, pager } = usePagedFeed<ChurnRiskSignal | ExpansionSignalItem>(api, `/api/v1/health/signals?type=${type}`, 20);
  return (
    <>
      <FeedState state={page.state} what={`${type} signals`} error={page.state === 'error' ? page.error : undefined} retry={retry} />
      {page.state === 'done' &&
        (type === 'churn-risk' ? <ChurnRiskList items={page.value.items as ChurnRiskSignal[]} /> : <ExpansionList items={page.value.items as ExpansionSignalItem[]} />)}
      {pager(type === 'churn-risk' ? 'Churn-risk signals' : 'Expansion signals')}
    </>
  );
}

/** Churn-risk and expansion signals across customers (`GET /api/v1/health/signals`), one type at a time. */
export function SignalsFeed({ api }: { api: Api }) {
  const [type, setType] = useState<SignalType>('churn-risk');
  return (
    <section aria-labelledby="signals-feed-h">
      <h2 id="signals-feed-h">Churn-risk and expansion signals</h2>
      <div role="group" aria-label="Signal type" className="tabs">
        {SIGNAL_TABS.map((t) => (
          <button key={t.type} type="button" aria-pressed={type === t.type} onClick={() => setType(t.type)}>
            {t.label}
          </button>
        ))}
      </div>
      <SignalFeed key={type} api={api} type={type} />
    </section>
  );
}

/** Messages the pipeline refused, with the reason (`GET /api/v1/dead-letters`: the tenant's own only), 10 per page. */
export function DeadLettersFeed({ api }: { api: Api }) {
  const { page, retry, pager } = usePagedFeed<DeadLetterItem>(api, '/api/v1/dead-letters', 10);
  return (
    <section aria-labelledby="dead-letters-h">
      <h2 id="dead-letters-h">Dead letters</h2>
      <p className="muted small">Events and messages refused into a DLQ, with why. Only those that are certainly yours are listed.</p>
      <FeedState state={page.state} what="dead letters" error={page.state === 'error' ? page.error : undefined} retry={retry} />
      {page.state === 'done' && <DeadLetterList items={page.value.items} />}
      {pager('Dead letters')}
    </section>
  );
}

/** The customer's latest alerts (`GET /api/v1/alerts?customer=`; a portal token reads its own customer's only). */
export function RecentAlerts({ api, customerId }: { api: Api; customerId: string }) {
  const { page, retry, pager } = usePagedFeed<AlertItem>(api, `/api/v1/alerts?customer=${enc(customerId)}`, 10);
  return (
    <section aria-labelledby="recent-alerts-h">
      <h2 id="recent-alerts-h">Recent alerts</h2>
      <FeedState state={page.state} what="alerts" error={page.state === 'error' ? page.error : undefined} retry={retry} />
      {page.state === 'done' && <AlertList items={page.value.items} showCustomer={false} label={`Recent alerts of ${customerId}, newest first`} />}
      {pager('Recent alerts')}
    </section>
  );
}
