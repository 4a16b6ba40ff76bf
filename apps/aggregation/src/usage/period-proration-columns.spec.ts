import { periodProrationColumns } from './usage-ledger.repository';

describe('periodProrationColumns (what a billing.subscriptions.v1 message says of its period)', () => {
  it('says nothing when no meter is charged prorated (the period keeps what it had)', () => {
    for (const meters of [undefined, []]) expect(periodProrationColumns('Asia/Shanghai', meters)).toEqual({ timeZone: null, meters: null });
  });

  it('keeps the meters, distinct and sorted by code units, with a zone the runtime knows', () => {
    expect(periodProrationColumns('Europe/Berlin', ['seats', 'Seats', 'gb', 'seats'])).toEqual({ timeZone: 'Europe/Berlin', meters: JSON.stringify(['Seats', 'gb', 'seats']) });
  });

  it('keeps the meters but no zone when the zone is missing or unknown: nothing can be counted, nothing is guessed', () => {
    for (const zone of [undefined, 'Mars/Olympus', '', 'UTC+8']) expect(periodProrationColumns(zone, ['seats'])).toEqual({ timeZone: null, meters: JSON.stringify(['seats']) });
  });
});
