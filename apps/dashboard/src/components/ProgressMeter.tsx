import { formatPercent, formatQuantity, type MeterProgress } from '../usage-math';

/** Usage against included: a labelled progressbar with each threshold marked (and named for screen readers). */
export function ProgressMeter({ meter, usage, included, progress }: { meter: string; usage: string; included: string; progress: MeterProgress }) {
  const state = progress.over ? 'over' : progress.thresholds.some((t) => t.crossed && t.percent >= 90) ? 'warn' : 'ok';
  const crossed = progress.thresholds.filter((t) => t.crossed).map((t) => `${t.percent} %`);
  return (
    <div className="meter">
      <div
        className={`bar bar-${state}`}
        role="progressbar"
        aria-label={`${meter}: ${formatQuantity(usage)} of ${formatQuantity(included)} included`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(progress.barPercent)}
        aria-valuetext={`${formatPercent(progress.percent)} of included${crossed.length ? `; thresholds crossed: ${crossed.join(', ')}` : ''}`}
      >
        <div className="bar-fill" style={{ width: `${progress.barPercent}%` }} />
        {progress.thresholds
          .filter((t) => t.percent <= 100)
          .map((t) => (
            <span key={t.percent} className={`tick${t.crossed ? ' tick-crossed' : ''}`} style={{ left: `${t.percent}%` }} title={`${t.percent} % threshold`} aria-hidden="true" />
          ))}
      </div>
      <ul className="tick-legend" aria-label="Thresholds">
        {progress.thresholds.map((t) => (
          <li key={t.percent} className={t.crossed ? 'crossed' : ''} data-threshold={t.percent}>
            {t.percent} % {t.crossed ? '✓ crossed' : 'not reached'}
          </li>
        ))}
      </ul>
    </div>
  );
}
