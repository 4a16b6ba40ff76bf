import { enc } from '../api';
import { alertKindLabel, alertThreshold, alertTone, shortTime, valuePreview } from '../feed-format';
import type { AlertItem, ChurnRiskSignal, DeadLetterItem, ExpansionSignalItem } from '../types';
import { formatQuantity } from '../usage-math';

/** Threshold alerts, newest first; `showCustomer` is off on a customer's own view (it is always that customer). */
export function AlertList({ items, showCustomer, label }: { items: AlertItem[]; showCustomer: boolean; label: string }) {
  if (items.length === 0) return <p className="muted">No alerts.</p>;
  return (
    <div className="scroll-x">
      <table aria-label={label} data-testid="alert-list">
        <thead>
          <tr>
            <th scope="col">When</th>
            {showCustomer && <th scope="col">Customer</th>}
            <th scope="col">Meter</th>
            <th scope="col">Alert</th>
            <th scope="col">Crossed</th>
            <th scope="col">Usage / included</th>
            <th scope="col">Projected</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.eventId} data-alert-kind={a.kind}>
              <td>
                <time dateTime={a.occurredAt}>{shortTime(a.occurredAt)}</time>
              </td>
              {showCustomer && (
                <td>
                  <a href={`#/customers/${enc(a.customer)}`}>{a.customer}</a>
                </td>
              )}
              <td>{a.meter}</td>
              <td>
                <span className={`badge alert-${alertTone(a.kind)}`}>{alertKindLabel(a.kind)}</span>
                {a.kind === 'recovered' && a.recoveredKind ? <span className="muted small"> ({alertKindLabel(a.recoveredKind as AlertItem['kind'])})</span> : null}
              </td>
              <td>{alertThreshold(a)}</td>
              <td className="num">
                {formatQuantity(a.usage)} / {formatQuantity(a.included)}
              </td>
              <td className="num">{a.projectedUsage ?? a.projected ? formatQuantity(a.projectedUsage ?? a.projected ?? null, 1) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const TRIGGER_LABEL: Record<string, string> = { entered_band: 'Entered a worse band', sharp_drop: 'Sharp score drop' };
const SIGNAL_LABEL: Record<string, string> = { excellent_band: 'Power user (excellent band)', repeated_overage: 'Repeated overage', upgrade_recommended: 'Upgrade recommended' };

export function ChurnRiskList({ items }: { items: ChurnRiskSignal[] }) {
  if (items.length === 0) return <p className="muted">No churn-risk signals.</p>;
  return (
    <div className="scroll-x">
      <table aria-label="Churn-risk signals" data-testid="churn-risk-list">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Customer</th>
            <th scope="col">Signal</th>
            <th scope="col">Score</th>
            <th scope="col">Band</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={`${s.customer}-${s.at}`}>
              <td>
                <time dateTime={s.at}>{shortTime(s.at)}</time>
              </td>
              <td>
                <a href={`#/customers/${enc(s.customer)}`}>{s.customer}</a>
              </td>
              <td>{TRIGGER_LABEL[s.trigger] ?? s.trigger}</td>
              <td className="num">
                {s.previousScore === null ? '' : `${s.previousScore.toFixed(1)} → `}
                {s.score.toFixed(1)}
              </td>
              <td>
                {s.previousBand && s.previousBand !== s.band ? `${s.previousBand} → ` : ''}
                <span className={`badge band-${s.band}`}>{s.band}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ExpansionList({ items }: { items: ExpansionSignalItem[] }) {
  if (items.length === 0) return <p className="muted">No expansion signals.</p>;
  return (
    <div className="scroll-x">
      <table aria-label="Expansion signals" data-testid="expansion-list">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Customer</th>
            <th scope="col">Signal</th>
            <th scope="col">For</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={`${s.customer}-${s.signal}-${s.signalKey}`}>
              <td>
                <time dateTime={s.at}>{shortTime(s.at)}</time>
              </td>
              <td>
                <a href={`#/customers/${enc(s.customer)}`}>{s.customer}</a>
              </td>
              <td>{SIGNAL_LABEL[s.signal] ?? s.signal}</td>
              <td>
                <code>{s.signalKey}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Dead letters with their reason first; the original value is a preview (the API has its size and hash). */
export function DeadLetterList({ items }: { items: DeadLetterItem[] }) {
  if (items.length === 0) return <p className="muted">No dead letters.</p>;
  return (
    <ul className="dead-letters" data-testid="dead-letter-list">
      {items.map((d) => (
        <li key={d.id}>
          <p>
            <strong>{d.reason}</strong>
          </p>
          <p className="muted small">
            <time dateTime={d.deadLetteredAt}>{shortTime(d.deadLetteredAt)}</time> · from {d.source.topic ?? 'unknown topic'}
            {d.source.partition !== null ? ` [${d.source.partition}]` : ''}
            {d.source.offset !== null ? ` @ ${d.source.offset}` : ''}
            {d.key ? ` · key ${d.key}` : ''}
          </p>
          <pre className="value-preview">{valuePreview(d.value, d.valueBase64, d.valueSize)}</pre>
        </li>
      ))}
    </ul>
  );
}
