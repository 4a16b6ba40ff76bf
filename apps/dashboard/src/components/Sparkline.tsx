import { scoreTrend, sparkline } from '../usage-math';

/** A score history (newest first, as the API answers) as a small line with its change spelled out. */
export function Sparkline({ historyNewestFirst, label }: { historyNewestFirst: number[]; label: string }) {
  const { scores, delta } = scoreTrend(historyNewestFirst);
  if (scores.length === 0) return <span className="muted">no history</span>;
  const text = delta === null ? 'one score so far' : delta === 0 ? 'unchanged' : `${delta > 0 ? 'up' : 'down'} ${Math.abs(delta).toFixed(1)}`;
  return (
    <span className="spark">
      <svg width="80" height="20" viewBox="0 0 80 20" aria-hidden="true" focusable="false">
        <polyline points={sparkline(scores, 80, 20)} fill="none" strokeWidth="2" className={delta !== null && delta < 0 ? 'down' : 'up'} />
      </svg>
      <span className={delta !== null && delta < 0 ? 'trend-down' : 'trend-up'} aria-label={`${label} score trend: ${text}`}>
        {delta === null ? '·' : delta === 0 ? '→' : delta > 0 ? `▲ ${delta.toFixed(1)}` : `▼ ${Math.abs(delta).toFixed(1)}`}
      </span>
    </span>
  );
}
