import type { AlertItem } from './types';
import { formatQuantity } from './usage-math';

/** What an alert crossed, in words: "75 % of included", "5,000 units", "EUR 100 spend", "forecast over included". */
export function alertThreshold(a: AlertItem): string {
  if (a.kind === 'forecast') return 'projected to exceed included';
  const value = a.threshold ?? (a.thresholdPercent !== undefined ? String(a.thresholdPercent) : null);
  if (value === null) return '—';
  switch (a.thresholdUnit ?? 'percent') {
    case 'percent':
      return `${formatQuantity(value)} % of included`;
    case 'money':
      return `${a.currency ? `${a.currency} ` : ''}${formatQuantity(value)} spend`;
    default:
      return `${formatQuantity(value)} units`;
  }
}

const KIND_LABEL: Record<AlertItem['kind'], string> = {
  soft: 'Threshold',
  overage: 'Overage',
  hard_limit: 'Hard limit',
  absolute: 'Absolute',
  spend: 'Spend',
  step: 'Step',
  recovered: 'Recovered',
  forecast: 'Forecast',
};

export const alertKindLabel = (kind: AlertItem['kind']): string => KIND_LABEL[kind] ?? kind;

/** The severity class of a kind: over or blocked is red, a recovery is calm, the rest a warning. */
export function alertTone(kind: AlertItem['kind']): 'over' | 'ok' | 'soft' {
  if (kind === 'overage' || kind === 'hard_limit') return 'over';
  if (kind === 'recovered') return 'ok';
  return 'soft';
}

/** "2026-03-01 09:03" (UTC) from an ISO time, as the other lists show times. */
export const shortTime = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** A dead letter's original value for a glance: text as is, binary as its size, cut to `max` characters. */
export function valuePreview(value: string | null, valueBase64: string | null, valueSize: number, max = 160): string {
  if (value !== null) return value.length > max ? `${value.slice(0, max - 1)}…` : value;
  if (valueBase64 !== null) return `(binary, ${valueSize} bytes)`;
  return valueSize === 0 ? '(no value)' : `(${valueSize} bytes, not kept)`;
}
