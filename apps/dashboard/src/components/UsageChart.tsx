import { formatQuantity, niceMax } from '../usage-math';

/**
 * Daily usage as SVG bars. The picture is for sighted users; the same numbers are in a table below it (collapsed
 * in a <details>), which screen readers and keyboard users reach directly.
 */
export function UsageChart({ meter, series }: { meter: string; series: Array<{ day: string; value: number }> }) {
  const width = 640;
  const height = 160;
  const pad = { left: 44, bottom: 22, top: 8, right: 6 };
  const max = niceMax(Math.max(0, ...series.map((s) => s.value)));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const barW = series.length ? innerW / series.length : innerW;
  const total = series.reduce((a, s) => a + s.value, 0);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Daily usage of ${meter}: ${formatQuantity(total)} over ${series.length} days, at most ${formatQuantity(Math.max(0, ...series.map((s) => s.value)))} a day`} preserveAspectRatio="none">
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.left} x2={width - pad.right} y1={pad.top + innerH * (1 - f)} y2={pad.top + innerH * (1 - f)} className="grid" />
            <text x={pad.left - 4} y={pad.top + innerH * (1 - f) + 4} textAnchor="end" className="axis">
              {formatQuantity(max * f)}
            </text>
          </g>
        ))}
        {series.map((s, i) => {
          const h = (s.value / max) * innerH;
          return <rect key={s.day} x={pad.left + i * barW + 1} y={pad.top + innerH - h} width={Math.max(1, barW - 2)} height={h} className="bar-day" data-day={s.day} data-value={s.value} />;
        })}
        {series.length > 0 && (
          <>
            <text x={pad.left} y={height - 6} className="axis">
              {series[0].day.slice(5)}
            </text>
            <text x={width - pad.right} y={height - 6} textAnchor="end" className="axis">
              {series[series.length - 1].day.slice(5)}
            </text>
          </>
        )}
      </svg>
      <details>
        <summary>Daily values of {meter}</summary>
        <table className="compact">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Usage</th>
            </tr>
          </thead>
          <tbody>
            {series
              .filter((s) => s.value !== 0)
              .map((s) => (
                <tr key={s.day}>
                  <td>{s.day}</td>
                  <td className="num">{formatQuantity(s.value)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
