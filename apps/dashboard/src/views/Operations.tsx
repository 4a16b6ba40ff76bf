import { useState } from 'react';
import { enc, type Api } from '../api';
import { CohortHeatMap } from '../components/CohortHeatMap';
import { Pager } from '../components/Pager';
import { Sparkline } from '../components/Sparkline';
import { useAsync } from '../components/useAsync';
import { AlertsFeed, DeadLettersFeed, SignalsFeed } from './Feeds';
import { HEALTH_BANDS, type CohortRow, type EventConflict, type HealthBand, type HealthDetail, type HealthItem, type JobFailure, type MonthlyAnalytics, type RescoreFailure } from '../types';
import { formatMoney, formatPercent } from '../usage-math';

const PAGE_SIZE = 20;
type BandFilter = HealthBand | 'all';
const BAND_LABEL: Record<BandFilter, string> = { all: 'All bands', red: 'At risk (red)', yellow: 'Watch (yellow)', green: 'Healthy (green)', excellent: 'Excellent' };
const BAND_FILTERS: BandFilter[] = ['all', ...HEALTH_BANDS];

const lastMonth = () => {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
};

/** One page of a band (cursor-paged by the API, 20 rows: fast with any number of customers) and each row's trend. */
function HealthList({ api, band }: { api: Api; band: BandFilter }) {
  // The cursors of the pages seen so far, so Previous needs no extra API.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1];
  const [page, retry] = useAsync(async () => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (band !== 'all') q.set('band', band);
    if (after) q.set('after', after);
    const list = await api.json<{ items: HealthItem[]; nextCursor: string | null }>(`/api/v1/customers/health?${q}`);
    // The trends are extra: one read per row, a few at a time (the tenant's read rate limit is shared), and a
    // row whose history could not be read just shows none.
    const details: Array<HealthDetail | null> = [];
    for (let i = 0; i < list.items.length; i += 5) {
      const chunk = list.items.slice(i, i + 5).map((item) => api.maybe<HealthDetail>(`/api/v1/customers/${enc(item.customer)}/health`).catch(() => null));
      details.push(...(await Promise.all(chunk)));
    }
    return { ...list, details };
  }, [api, band, after]);
  if (page.state === 'loading') return <p role="status">Loading {BAND_LABEL[band]}…</p>;
  if (page.state === 'error') {
    return (
      <div role="alert">
        <p>Could not load customers: {page.error.message}</p>
        <button type="button" onClick={retry}>
          Retry
        </button>
      </div>
    );
  }
  const { items, nextCursor, details } = page.value;
  return (
    <>
      {items.length === 0 ? (
        <p className="muted">No customers in this band.</p>
      ) : (
        <div className="scroll-x">
          <table data-testid={`health-${band}`}>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Score</th>
                <th scope="col">Band</th>
                <th scope="col">Trend</th>
                <th scope="col">Churn risk</th>
                <th scope="col">Scored</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item, i) => {
                const d = details[i];
                const risk = d?.history.find((h) => h.churnRisk)?.churnRisk ?? null;
                return (
                  <tr key={item.customer}>
                    <td>
                      <a href={`#/customers/${enc(item.customer)}`}>{item.customer}</a>
                    </td>
                    <td className="num">{item.score?.toFixed(1) ?? '—'}</td>
                    <td>{item.band ? <span className={`badge band-${item.band}`}>{BAND_LABEL[item.band]}</span> : '—'}</td>
                    <td>
                      <Sparkline historyNewestFirst={(d?.history ?? []).map((h) => h.score)} label={item.customer} />
                    </td>
                    <td>{risk ?? <span className="muted">—</span>}</td>
                    <td>{item.scoredAt?.slice(0, 16).replace('T', ' ') ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        label={BAND_LABEL[band]}
        page={cursors.length}
        hasPrevious={cursors.length > 1}
        hasNext={nextCursor !== null}
        onPrevious={() => setCursors((c) => c.slice(0, -1))}
        onNext={() => nextCursor && setCursors((c) => [...c, nextCursor])}
      />
    </>
  );
}

function Revenue({ api }: { api: Api }) {
  const [month, setMonth] = useState(lastMonth());
  const [data] = useAsync(
    async () => {
      const [m, c] = await Promise.all([api.json<MonthlyAnalytics>(`/api/v1/analytics?month=${month}`), api.json<{ cohorts: CohortRow[] }>(`/api/v1/analytics/cohorts`)]);
      return { monthly: m, cohorts: c.cohorts };
    },
    [api, month],
  );
  return (
    <section aria-labelledby="revenue-h">
      <h2 id="revenue-h">Revenue</h2>
      <label className="inline">
        Month <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} />
      </label>
      {data.state === 'loading' && <p role="status">Loading revenue…</p>}
      {data.state === 'error' && <p role="alert">Could not load analytics: {data.error.message}</p>}
      {data.state === 'done' && (
        <>
          <dl className="kpis">
            <div>
              <dt>Net revenue retention</dt>
              <dd>{formatPercent(data.value.monthly.nrr)}</dd>
            </div>
            <div>
              <dt>Gross revenue retention</dt>
              <dd>{formatPercent(data.value.monthly.grr)}</dd>
            </div>
            <div>
              <dt>Customer churn</dt>
              <dd>{formatPercent(data.value.monthly.churnRate)}</dd>
            </div>
            <div>
              <dt>MRR</dt>
              <dd>
                {formatMoney(data.value.monthly.startMrr, data.value.monthly.currency)} → {formatMoney(data.value.monthly.endMrr, data.value.monthly.currency)}
              </dd>
            </div>
            <div>
              <dt>Expansion</dt>
              <dd>{formatMoney(data.value.monthly.expansionMrr, data.value.monthly.currency)}</dd>
            </div>
            <div>
              <dt>Churned</dt>
              <dd>{formatMoney(data.value.monthly.churnedMrr, data.value.monthly.currency)}</dd>
            </div>
          </dl>
          <h3>Cohort retention</h3>
          <CohortHeatMap cohorts={data.value.cohorts} />
        </>
      )}
    </section>
  );
}

function Problems({ api }: { api: Api }) {
  const [data] = useAsync(
    () =>
      Promise.all([
        api.json<{ data: EventConflict[] }>('/api/v1/events/conflicts?limit=20'),
        api.json<{ items: RescoreFailure[] }>('/api/v1/health/rescore-failures'),
        api.json<{ data: JobFailure[] }>('/api/v1/billing/job-failures'),
      ]),
    [api],
  );
  return (
    <section aria-labelledby="problems-h">
      <h2 id="problems-h">Problems to look at</h2>
      {data.state === 'loading' && <p role="status">Loading…</p>}
      {data.state === 'error' && <p role="alert">Could not load: {data.error.message}</p>}
      {data.state === 'done' && (
        <div className="cards">
          <article className="card">
            <h3>Conflicting duplicate events</h3>
            <p className="muted small">Same id and source, another payload: not counted. A producer bug.</p>
            {data.value[0].data.length === 0 ? (
              <p>None.</p>
            ) : (
              <ul>
                {data.value[0].data.map((c) => (
                  <li key={`${c.source}/${c.id}`}>
                    <code>{c.id}</code> from {c.source}: {c.count}× since {c.firstSeen.slice(0, 10)}
                  </li>
                ))}
              </ul>
            )}
          </article>
          <article className="card">
            <h3>Health rescoring failures</h3>
            {data.value[1].items.length === 0 ? (
              <p>None.</p>
            ) : (
              <ul>
                {data.value[1].items.map((f) => (
                  <li key={f.customer}>
                    {f.customer}: {f.error} ({f.attempts} attempts)
                  </li>
                ))}
              </ul>
            )}
          </article>
          <article className="card">
            <h3>Billing job failures</h3>
            {data.value[2].data.length === 0 ? (
              <p>None.</p>
            ) : (
              <ul>
                {data.value[2].data.slice(0, 20).map((f, i) => (
                  <li key={i}>
                    {String(f.job ?? 'job')}: {String(f.error ?? JSON.stringify(f)).slice(0, 200)}
                  </li>
                ))}
              </ul>
            )}
          </article>
        </div>
      )}
    </section>
  );
}

export function Operations({ api }: { api: Api }) {
  const [band, setBand] = useState<BandFilter>('all');
  const [customer, setCustomer] = useState('');
  return (
    <div>
      <header className="view-head">
        <h1>Operations</h1>
        <form
          className="inline"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (customer.trim()) location.hash = `#/customers/${enc(customer.trim())}`;
          }}
        >
          <label htmlFor="customer-search">Open customer</label>
          <input id="customer-search" value={customer} onChange={(e) => setCustomer(e.target.value)} placeholder="customer id" autoComplete="off" />
          <button type="submit">Open</button>
        </form>
      </header>
      <section aria-labelledby="health-h">
        <h2 id="health-h">Customers by health</h2>
        <div role="group" aria-label="Health band" className="tabs">
          {BAND_FILTERS.map((b) => (
            <button key={b} type="button" aria-pressed={band === b} className={`band band-${b}`} onClick={() => setBand(b)}>
              {BAND_LABEL[b]}
            </button>
          ))}
        </div>
        <HealthList key={band} api={api} band={band} />
      </section>
      <SignalsFeed api={api} />
      <AlertsFeed api={api} />
      <Revenue api={api} />
      <Problems api={api} />
      <DeadLettersFeed api={api} />
    </div>
  );
}
