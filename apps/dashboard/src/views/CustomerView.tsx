import { useState } from 'react';
import { ApiError, enc, type Api } from '../api';
import { InvoiceDialog } from '../components/InvoiceDialog';
import { ProgressMeter } from '../components/ProgressMeter';
import { UsageChart } from '../components/UsageChart';
import { useAsync } from '../components/useAsync';
import type { Customer, EntitlementCheck, InvoiceView, Subscription, Upcoming, UsageRow } from '../types';
import { dailySeries, formatMoney, formatQuantity, meterProgress } from '../usage-math';
import { RecentAlerts } from './Feeds';

interface MeterUsage {
  meter: string;
  thresholds: Array<number | string>;
  check: EntitlementCheck | null;
  /** Null: the daily query failed (the rest of the card still stands). */
  series: Array<{ day: string; value: number }> | null;
}

interface CustomerData {
  customer: Customer;
  subscriptions: Subscription[];
  meters: MeterUsage[];
  upcoming: Upcoming[];
  invoices: InvoiceView[];
}

async function loadCustomer(api: Api, id: string): Promise<CustomerData> {
  const c = enc(id);
  const [customer, subs, upcoming, invoices] = await Promise.all([
    api.json<Customer>(`/api/v1/customers/${c}`),
    api.json<{ data: Subscription[] }>(`/api/v1/customers/${c}/subscriptions`),
    api.json<{ data: Upcoming[] }>(`/api/v1/customers/${c}/invoices/upcoming`),
    api.json<{ data: InvoiceView[] }>(`/api/v1/customers/${c}/invoices`),
  ]);
  const active = subs.data.filter((s) => s.status !== 'canceled');
  const entitlements = new Map<string, { thresholds: Array<number | string>; from: string; to: string }>();
  for (const s of active) for (const e of s.entitlements) entitlements.set(e.meter, { thresholds: e.thresholds, from: s.periodStart, to: s.periodEnd });
  const meters = await Promise.all(
    [...entitlements].map(async ([meter, e]): Promise<MeterUsage> => {
      const [check, query] = await Promise.all([
        api.maybe<EntitlementCheck>(`/api/v1/entitlements/${c}/${enc(meter)}`),
        api.maybe<{ data: UsageRow[] }>(`/api/v1/meters/${enc(meter)}/query?${new URLSearchParams({ subject: id, windowSize: 'DAY', from: e.from, to: e.to })}`).catch(() => undefined),
      ]);
      return { meter, thresholds: e.thresholds, check, series: query === undefined ? null : dailySeries(query?.data ?? [], e.from, e.to) };
    }),
  );
  return { customer, subscriptions: active, meters, upcoming: upcoming.data, invoices: invoices.data };
}

/** Downloads the customer's events of the current period as CSV (the API streams it; the browser saves a Blob). */
async function exportCsv(api: Api, id: string, from: string | undefined): Promise<number> {
  const params = new URLSearchParams({ subject: id });
  if (from) params.set('from', from);
  const csv = await api.text(`/api/v1/events?${params}`, 'text/csv');
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `usage-events-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return Math.max(0, csv.trim().split('\n').length - 1);
}

export function CustomerView({ api, customerId, portal }: { api: Api; customerId: string; portal: boolean }) {
  const [data, reload] = useAsync(() => loadCustomer(api, customerId), [api, customerId]);
  const [invoice, setInvoice] = useState<{ title: string; html: string } | null>(null);
  const [status, setStatus] = useState('');

  if (data.state === 'loading') return <p role="status">Loading {customerId}…</p>;
  if (data.state === 'error') {
    const e = data.error;
    return (
      <div role="alert" className="error">
        <p>{e instanceof ApiError && e.status === 403 ? 'This link does not give access to that customer.' : `Could not load customer ${customerId}: ${e.message}`}</p>
      </div>
    );
  }
  const { customer, meters, upcoming, invoices, subscriptions } = data.value;
  const currency = subscriptions[0]?.currency ?? customer.currency;
  const periodFrom = subscriptions[0]?.periodStart;

  const openInvoice = async (inv: InvoiceView) => {
    setStatus('Opening invoice…');
    try {
      const html = await api.text(`/api/v1/invoices/${enc(inv.id)}`, 'text/html');
      setInvoice({ title: `Invoice ${inv.number ?? inv.id}`, html });
      setStatus('');
    } catch (e) {
      setStatus(`Could not open the invoice: ${(e as Error).message}`);
    }
  };
  const onExport = async () => {
    setStatus('Exporting events…');
    try {
      const rows = await exportCsv(api, customerId, periodFrom);
      setStatus(`Exported ${rows} event${rows === 1 ? '' : 's'} as CSV.`);
    } catch (e) {
      setStatus(`Export failed: ${(e as Error).message}`);
    }
  };

  return (
    <div className="customer-view">
      <header className="view-head">
        <div>
          <h1>{customer.name}</h1>
          <p className="muted">
            Customer <code>{customer.id}</code> · {currency}
            {subscriptions[0] && (
              <>
                {' '}
                · period {subscriptions[0].periodStart.slice(0, 10)} – {subscriptions[0].periodEnd.slice(0, 10)} ({subscriptions.map((s) => s.plan).join(', ')})
              </>
            )}
          </p>
        </div>
        <div className="actions">
          <button type="button" onClick={reload}>
            Refresh
          </button>
          <button type="button" onClick={() => void onExport()}>
            Export events (CSV)
          </button>
        </div>
      </header>
      <p role="status" aria-live="polite" className="status">
        {status}
      </p>

      <section aria-labelledby="usage-h">
        <h2 id="usage-h">Usage this period</h2>
        {meters.length === 0 && <p className="muted">No metered entitlements on an active subscription.</p>}
        <div className="cards">
          {meters.map((m) => {
            const check = m.check;
            const progress = check ? meterProgress(check.usage, check.included, m.thresholds) : null;
            return (
              <article key={m.meter} className="card meter-card" aria-labelledby={`m-${m.meter}`} data-meter={m.meter}>
                <h3 id={`m-${m.meter}`}>{m.meter}</h3>
                <dl className="facts">
                  <div>
                    <dt>Used</dt>
                    <dd data-testid="usage">{formatQuantity(check?.usage ?? '0')}</dd>
                  </div>
                  <div>
                    <dt>Included</dt>
                    <dd>{formatQuantity(check?.included ?? null)}</dd>
                  </div>
                  <div>
                    <dt>Remaining</dt>
                    <dd>{formatQuantity(check?.remaining ?? null)}</dd>
                  </div>
                  <div>
                    <dt>Projected at period end</dt>
                    <dd>{check?.projected ? formatQuantity(check.projected, 1) : '—'}</dd>
                  </div>
                </dl>
                {check && progress && check.included && <ProgressMeter meter={m.meter} usage={check.usage} included={check.included} progress={progress} />}
                {check && !check.allowed && <p className="badge badge-red">Hard limit reached: use is blocked</p>}
                {m.series ? <UsageChart meter={m.meter} series={m.series} /> : <p className="muted">Daily usage could not be read right now.</p>}
              </article>
            );
          })}
        </div>
      </section>

      <section aria-labelledby="alerts-h">
        <h2 id="alerts-h">Thresholds reached this period</h2>
        <ul className="alerts">
          {meters.flatMap((m) => {
            const p = m.check ? meterProgress(m.check.usage, m.check.included, m.thresholds) : null;
            return (p?.thresholds ?? [])
              .filter((t) => t.crossed)
              .reverse()
              .map((t) => (
                <li key={`${m.meter}-${t.percent}`} className={t.percent >= 100 ? 'alert-over' : 'alert-soft'}>
                  <strong>{m.meter}</strong>: {t.percent} % of included reached
                </li>
              ));
          })}
        </ul>
        {meters.every((m) => !(m.check && meterProgress(m.check.usage, m.check.included, m.thresholds)?.thresholds.some((t) => t.crossed))) && <p className="muted">No threshold reached yet.</p>}
      </section>

      <RecentAlerts api={api} customerId={customerId} />

      <section aria-labelledby="upcoming-h">
        <h2 id="upcoming-h">Upcoming invoice</h2>
        {upcoming.length === 0 && <p className="muted">Nothing accruing right now.</p>}
        {upcoming.map((u) => (
          <div key={u.subscriptionId} className="card upcoming" data-testid="upcoming-invoice">
            <p>
              So far: <strong>{formatMoney(u.invoiceSoFar.total, u.invoiceSoFar.currency)}</strong> · projected at period end:{' '}
              <strong data-testid="projected-total">{formatMoney(u.projectedTotal, u.projectedInvoice.currency)}</strong> ({Math.round(Number(u.elapsedFraction) * 100)} % of the period elapsed)
            </p>
            <div className="scroll-x">
              <table>
                <caption>Lines so far</caption>
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Units</th>
                    <th scope="col">Unit price</th>
                    <th scope="col">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {u.invoiceSoFar.lines.map((l, i) => (
                    <tr key={`${l.code}-${i}`}>
                      <td>{l.description}</td>
                      <td className="num">{formatQuantity(l.units)}</td>
                      <td className="num">{l.unitAmount ? formatMoney(l.unitAmount, u.invoiceSoFar.currency) : '—'}</td>
                      <td className="num">{formatMoney(l.amount, u.invoiceSoFar.currency)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row" colSpan={3}>
                      Total so far (tax {formatMoney(u.invoiceSoFar.tax, u.invoiceSoFar.currency)})
                    </th>
                    <td className="num">{formatMoney(u.invoiceSoFar.total, u.invoiceSoFar.currency)}</td>
                  </tr>
                </tfoot>
              </table>
            </div>
          </div>
        ))}
      </section>

      <section aria-labelledby="invoices-h">
        <h2 id="invoices-h">Past invoices</h2>
        {invoices.length === 0 ? (
          <p className="muted">No invoices yet.</p>
        ) : (
          <div className="scroll-x">
            <table>
              <thead>
                <tr>
                  <th scope="col">Number</th>
                  <th scope="col">Period</th>
                  <th scope="col">Status</th>
                  <th scope="col">Total</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {invoices.map((inv) => (
                  <tr key={inv.id}>
                    <td>{inv.number ?? <span className="muted">draft</span>}</td>
                    <td>
                      {inv.periodStart.slice(0, 10)} – {inv.periodEnd.slice(0, 10)}
                    </td>
                    <td>{inv.status}</td>
                    <td className="num">{formatMoney(inv.document.total, inv.currency)}</td>
                    <td>
                      <button type="button" onClick={() => void openInvoice(inv)} aria-label={`View invoice ${inv.number ?? inv.id}`}>
                        View
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {portal && <p className="muted small">This view was shared with you by your provider; the link expires.</p>}
      {invoice && <InvoiceDialog title={invoice.title} html={invoice.html} onClose={() => setInvoice(null)} />}
    </div>
  );
}
