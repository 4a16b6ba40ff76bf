import { npsResponsesFromBody, supportTicketsFromBody, type FeedbackLimits } from './feedback-request';

const NOW = new Date('2026-06-30T12:00:00Z');
const LIMITS: FeedbackLimits = { maxItems: 3, maxAgeMs: 730 * 86_400_000, maxFutureMs: 300_000 };
const JSON_TYPE = 'application/json';
const nps = (body: unknown, type = JSON_TYPE) => npsResponsesFromBody('acme', type, Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), LIMITS, NOW);
const tickets = (body: unknown) => supportTicketsFromBody('acme', JSON_TYPE, Buffer.from(JSON.stringify(body)), LIMITS, NOW);

describe('npsResponsesFromBody', () => {
  it('turns one answer into a feedback.nps.v1 message of the tenant, the response id as its identity', () => {
    expect(nps({ customer: 'c-1', score: 9, respondedAt: '2026-06-29T10:00:00+02:00', responseId: 'r-1' })).toEqual({
      ok: true,
      items: [{ eventId: 'nps:r-1', occurredAt: '2026-06-29T08:00:00.000Z', tenant: 'acme', customer: 'c-1', score: 9 }],
    });
  });

  it('accepts a batch and stamps answers without a time with now', () => {
    const parsed = nps([{ customer: 'c-1', score: 0 }, { customer: 'c-2', score: 10 }]);
    expect(parsed.ok && parsed.items.map((i) => [i.customer, i.score, i.occurredAt])).toEqual([['c-1', 0, NOW.toISOString()], ['c-2', 10, NOW.toISOString()]]);
  });

  it.each([
    [{ customer: 'c-1', score: 11 }, '/score', 'must be a whole number from 0 to 10'],
    [{ customer: 'c-1', score: -1 }, '/score', 'must be a whole number from 0 to 10'],
    [{ customer: 'c-1', score: 7.5 }, '/score', 'must be a whole number from 0 to 10'],
    [{ customer: 'c-1', score: '9' }, '/score', 'must be a whole number from 0 to 10'],
    [{ customer: 'c-1' }, '/score', 'is required'],
    [{ customer: '', score: 5 }, '/customer', 'must not be empty'],
    [{ customer: 'x'.repeat(257), score: 5 }, '/customer', 'is 257 bytes (UTF-8); at most 256 are accepted'],
    [{ customer: 'c-1', score: 5, scroe: 5 }, '/scroe', 'is not a known field'],
    [{ customer: 'c-1', score: 5, respondedAt: 'yesterday' }, '/respondedAt', 'must be an RFC 3339 timestamp'],
    [{ customer: 'c-1', score: 5, respondedAt: '2026-06-30T12:06:00Z' }, '/respondedAt', 'is in the future (more than 300 s ahead)'],
    [{ customer: 'c-1', score: 5, respondedAt: '2024-06-29T12:00:00Z' }, '/respondedAt', 'is more than 730 days old'],
  ])('refuses %p with a 400 naming %s', (body, pointer, detail) => {
    expect(nps(body)).toEqual({ ok: false, status: 400, detail: '1 invalid field(s)', errors: [{ pointer, detail }] });
  });

  it('names the item of a batch', () => {
    expect(nps([{ customer: 'c-1', score: 5 }, { customer: 'c-2', score: 50 }, 7])).toEqual({
      ok: false, status: 400, detail: '2 invalid field(s)',
      errors: [{ pointer: '/1/score', detail: 'must be a whole number from 0 to 10' }, { pointer: '/2', detail: 'must be an object' }],
    });
    expect(nps([{ customer: 'c-1', score: 5 }, { customer: 'c-2', score: 5, respondedAt: '2030-01-01T00:00:00Z' }])).toMatchObject({ errors: [{ pointer: '/1/respondedAt' }] });
  });

  it('refuses what the strict JSON reader refuses: duplicate names, bad UTF-8, deep nesting, syntax', () => {
    expect(nps('{"customer":"c-1","score":1,"score":10}')).toMatchObject({ ok: false, status: 400, errors: [{ pointer: '/score' }] });
    expect(nps(Buffer.from([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false, status: 400, detail: 'the body is not UTF-8' });
    expect(nps('[[[[{}]]]]')).toMatchObject({ ok: false, status: 400, detail: 'the body breaks an input limit' });
    expect(nps('{"customer":')).toMatchObject({ ok: false, status: 400, detail: 'the body is not valid JSON' });
    expect(nps({ customer: 'c\u0000', score: 5 })).toEqual({ ok: false, status: 400, detail: 'the body breaks an input limit', errors: [{ pointer: '/customer', detail: 'contains a NUL character (U+0000) at index 1' }] });
  });

  it('answers 415 to other content types and charsets, 413 beyond the item limit, 400 for an empty batch', () => {
    expect(nps({ customer: 'c-1', score: 5 }, 'text/plain')).toMatchObject({ ok: false, status: 415 });
    expect(nps({ customer: 'c-1', score: 5 }, 'application/json; charset=latin1')).toMatchObject({ ok: false, status: 415 });
    expect(nps({ customer: 'c-1', score: 5 }, 'application/json; charset=utf-8')).toMatchObject({ ok: true });
    expect(nps(Array.from({ length: 4 }, () => ({ customer: 'c', score: 1 })))).toMatchObject({ ok: false, status: 413 });
    expect(nps([])).toMatchObject({ ok: false, status: 400, detail: 'the batch is empty' });
    expect(nps('null')).toMatchObject({ ok: false, status: 400, errors: [{ pointer: '', detail: 'must be an object' }] });
  });
});

describe('supportTicketsFromBody', () => {
  it('turns a ticket change into a support.tickets.v1 message; with updatedAt its identity is stable', () => {
    const body = { ticketId: 'T-1', customer: 'c-1', status: 'open', priority: 'urgent', openedAt: '2026-06-28T00:00:00Z', updatedAt: '2026-06-29T00:00:00Z' };
    const first = tickets(body);
    expect(first).toEqual({
      ok: true,
      items: [{ eventId: 'ticket:T-1:2026-06-29T00:00:00.000Z:open:urgent', occurredAt: '2026-06-29T00:00:00.000Z', tenant: 'acme', customer: 'c-1', ticketId: 'T-1', status: 'open', priority: 'urgent', openedAt: '2026-06-28T00:00:00.000Z' }],
    });
    expect(tickets(body)).toEqual(first);
  });

  it('names each bad field', () => {
    expect(tickets({ ticketId: 'T-1', customer: 'c-1', status: 'reopened', priority: 'p1', openedAt: '2099-01-01T00:00:00Z' })).toMatchObject({
      ok: false, status: 400,
      errors: [{ pointer: '/status' }, { pointer: '/priority' }],
    });
    expect(tickets({ ticketId: 'T-1', customer: 'c-1', status: 'open', priority: 'low', openedAt: '2099-01-01T00:00:00Z' })).toEqual({
      ok: false, status: 400, detail: '1 invalid field(s)', errors: [{ pointer: '/openedAt', detail: 'is in the future (more than 300 s ahead)' }],
    });
  });
});
