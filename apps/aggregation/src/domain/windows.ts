import type { WindowKind } from '@tally/contracts';

export interface Window {
  kind: WindowKind;
  start: Date;
  end: Date;
}

const MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

/** UTC-aligned fixed window containing `time` (by event time, never arrival time). */
export function fixedWindow(kind: 'MINUTE' | 'HOUR' | 'DAY', time: Date): Window {
  const size = MS[kind];
  const start = Math.floor(time.getTime() / size) * size;
  return { kind, start: new Date(start), end: new Date(start + size) };
}

/** The calendar month (UTC) containing `time`: the billing period of a customer with no subscription yet. */
export function calendarMonth(time: Date): Window {
  const start = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1);
  const end = Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1, 1);
  return { kind: 'PERIOD', start: new Date(start), end: new Date(end) };
}

/** The windows an event contributes to, in the order they are maintained. */
export function windowsFor(time: Date): Window[] {
  return [fixedWindow('DAY', time), calendarMonth(time)];
}
