import type { CohortRow } from '../types';
import { formatPercent, heatCell } from '../usage-math';

/** Retention by signup-month cohort: a real table (row and column headers), coloured as a heat map. */
export function CohortHeatMap({ cohorts }: { cohorts: CohortRow[] }) {
  if (cohorts.length === 0) return <p className="muted">No cohorts yet: customers appear here once they have subscribed.</p>;
  const months = Math.max(...cohorts.map((c) => c.retention.length));
  return (
    <div className="scroll-x" tabIndex={0} role="region" aria-label="Cohort retention table">
      <table className="heat">
        <caption>Share of each signup cohort paying k months later</caption>
        <thead>
          <tr>
            <th scope="col">Cohort</th>
            <th scope="col">Customers</th>
            {Array.from({ length: months }, (_, k) => (
              <th scope="col" key={k}>
                M{k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {cohorts.map((c) => (
            <tr key={c.cohort}>
              <th scope="row">{c.cohort}</th>
              <td className="num">{c.customers}</td>
              {Array.from({ length: months }, (_, k) => {
                const v = c.retention[k] ?? null;
                return (
                  <td key={k} className="num" style={heatCell(v)}>
                    {k < c.retention.length ? formatPercent(v, 0) : ''}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
