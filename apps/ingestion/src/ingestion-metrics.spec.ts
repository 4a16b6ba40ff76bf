import { parseRejectReason } from './ingestion-metrics';

describe('parseRejectReason', () => {
  it('maps each status the body parser answers with to its reason', () => {
    expect(parseRejectReason(400)).toBe('malformed');
    expect(parseRejectReason(413)).toBe('too_large');
    expect(parseRejectReason(415)).toBe('unsupported_media_type');
  });
});
