/** The calendar-month billing period (UTC) containing `time`. Anniversary periods come with plans. */
export function calendarPeriod(time: Date): { start: Date; end: Date } {
  return {
    start: new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1)),
    end: new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1, 1)),
  };
}
