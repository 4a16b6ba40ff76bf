import {
  besideConflict,
  cancelDecision,
  changePlanStatusRefusal,
  createOutcome,
  firstPeriod,
  pausedMsAfter,
  pauseRefusal,
  periodRuleOf,
  planChangeOutcome,
  planChangeRecord,
  resumeRefusal,
  rollDecision,
  secondPlanChangeRefusal,
  type Subscription,
  type SubscriptionStatus,
} from './subscription-lifecycle';

const d = (s: string) => new Date(s);
const STATUSES: SubscriptionStatus[] = ['active', 'paused', 'canceled'];

const sub = (over: Partial<Subscription> = {}): Subscription => ({
  tenant: 'acme',
  subscriptionId: 'sub-1',
  customer: 'c-1',
  plan: 'pro',
  planVersion: 1,
  status: 'active',
  periodStart: d('2026-03-01T00:00:00Z'),
  periodEnd: d('2026-04-01T00:00:00Z'),
  currency: 'EUR',
  billingTime: 'calendar',
  startedAt: d('2026-01-15T10:00:00Z'),
  cancelAtPeriodEnd: false,
  timeZone: 'UTC',
  interval: 'monthly',
  definition: { code: 'pro', name: 'Pro', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [] },
  ...over,
});

describe('create', () => {
  it('creates when the id is new, replays a retry with the same customer and plan, refuses another customer or plan', () => {
    const req = { id: 'sub-1', customer: 'c-1', plan: 'pro' };
    expect(createOutcome(null, req)).toBe('create');
    expect(createOutcome({ customer: 'c-1', plan: 'pro' }, req)).toBe('replay');
    expect(createOutcome({ customer: 'c-2', plan: 'pro' }, req)).toEqual({ status: 409, title: 'subscription "sub-1" exists with another customer or plan' });
    expect(createOutcome({ customer: 'c-1', plan: 'basic' }, req)).toEqual({ status: 409, title: 'subscription "sub-1" exists with another customer or plan' });
    // Exact comparison: no case folding, no trimming.
    expect(createOutcome({ customer: 'C-1', plan: 'pro' }, req)).not.toBe('replay');
    expect(createOutcome({ customer: 'c-1 ', plan: 'pro' }, req)).not.toBe('replay');
  });

  it('the first period starts at the start (backdated or mid-month) and ends at the next boundary in the customer zone', () => {
    expect(firstPeriod({ billingTime: 'calendar', interval: 'monthly', startedAt: d('2026-01-15T10:00:00Z'), timeZone: 'UTC' })).toEqual({
      start: d('2026-01-15T10:00:00Z'),
      end: d('2026-02-01T00:00:00Z'),
    });
    // Shanghai: 23:30 UTC on Jan 31 is already Feb 1 there, so the first period runs to Shanghai's Mar 1.
    expect(firstPeriod({ billingTime: 'calendar', interval: 'monthly', startedAt: d('2026-01-31T23:30:00Z'), timeZone: 'Asia/Shanghai' })).toEqual({
      start: d('2026-01-31T23:30:00Z'),
      end: d('2026-02-28T16:00:00Z'),
    });
    // Anniversary on the 31st: the next boundary is clamped to February's last day.
    expect(firstPeriod({ billingTime: 'anniversary', interval: 'monthly', startedAt: d('2026-01-31T00:00:00Z'), timeZone: 'UTC' }).end).toEqual(d('2026-02-28T00:00:00Z'));
    expect(firstPeriod({ billingTime: 'calendar', interval: 'yearly', startedAt: d('2026-06-10T00:00:00Z'), timeZone: 'UTC' }).end).toEqual(d('2027-01-01T00:00:00Z'));
  });

  it('reads the period rule from a subscription', () => {
    expect(periodRuleOf(sub({ billingTime: 'anniversary', timeZone: 'Europe/Berlin' }))).toEqual({
      billingTime: 'anniversary', interval: 'monthly', startedAt: d('2026-01-15T10:00:00Z'), timeZone: 'Europe/Berlin',
    });
  });
});

describe('besideConflict', () => {
  const period = { start: d('2026-03-01T00:00:00Z'), end: d('2026-04-01T00:00:00Z') };
  const sibling = (over: Partial<{ subscriptionId: string; meters: string[]; periodStart: Date; periodEnd: Date }> = {}) => ({
    subscriptionId: 'sub-2', meters: ['storage'], periodStart: period.start, periodEnd: period.end, ...over,
  });

  it('accepts no siblings, and siblings with other meters on the same bounds or periods that do not overlap', () => {
    expect(besideConflict(['api-calls'], period, [])).toBeNull();
    expect(besideConflict(['api-calls'], period, [sibling()])).toBeNull();
    // Touching periods do not overlap (end is exclusive).
    expect(besideConflict(['api-calls'], period, [sibling({ periodStart: d('2026-04-01T00:00:00Z'), periodEnd: d('2026-05-01T00:00:00Z') })])).toBeNull();
    expect(besideConflict(['api-calls'], period, [sibling({ periodStart: d('2026-02-01T00:00:00Z'), periodEnd: d('2026-03-01T00:00:00Z') })])).toBeNull();
    expect(besideConflict([], period, [sibling({ meters: [] })])).toBeNull();
  });

  it('refuses a meter another subscription charges, naming every shared meter', () => {
    expect(besideConflict(['api-calls', 'storage', 'seats'], period, [sibling({ meters: ['seats', 'storage'] })])).toEqual({
      status: 409, title: 'meter(s) seats, storage already charged by subscription "sub-2"',
    });
  });

  it('refuses overlapping periods with other bounds, by one millisecond either side', () => {
    const refusal = besideConflict(['api-calls'], period, [sibling({ periodStart: d('2026-03-01T00:00:00.001Z') })]);
    expect(refusal?.status).toBe(409);
    expect(refusal?.title).toContain('share period bounds');
    expect(besideConflict(['api-calls'], period, [sibling({ periodEnd: d('2026-03-31T23:59:59.999Z') })])?.status).toBe(409);
    expect(besideConflict(['api-calls'], period, [sibling({ periodStart: d('2026-03-31T23:59:59.999Z'), periodEnd: d('2026-04-30T00:00:00Z') })])?.status).toBe(409);
  });

  it('answers the first conflicting sibling in their order, a shared meter before a period of the same sibling', () => {
    const siblings = [sibling({ subscriptionId: 'ok' }), sibling({ subscriptionId: 'a', meters: ['api-calls'], periodStart: d('2026-03-02T00:00:00Z') }), sibling({ subscriptionId: 'b', meters: ['api-calls'] })];
    expect(besideConflict(['api-calls'], period, siblings)?.title).toBe('meter(s) api-calls already charged by subscription "a"');
  });
});

describe('plan change', () => {
  const target = { code: 'pro', version: 2, currency: 'EUR', interval: 'monthly' as const };

  it('refuses a canceled subscription before anything else; active and paused ones may change', () => {
    expect(changePlanStatusRefusal('canceled')).toEqual({ status: 409, title: 'the subscription is canceled' });
    expect(changePlanStatusRefusal('active')).toBeNull();
    expect(changePlanStatusRefusal('paused')).toBeNull();
  });

  it('changes to another version or plan; the same version is nothing to do', () => {
    expect(planChangeOutcome(sub(), target)).toBe('change');
    expect(planChangeOutcome(sub(), { ...target, code: 'team', version: 1 })).toBe('change');
    expect(planChangeOutcome(sub(), { ...target, version: 1 })).toBe('unchanged');
    // A lower version is a change too (a rollback).
    expect(planChangeOutcome(sub({ planVersion: 3 }), target)).toBe('change');
  });

  it('refuses another currency, then another interval (currency first), also for the same plan version', () => {
    expect(planChangeOutcome(sub(), { ...target, currency: 'USD' })).toEqual({ status: 409, title: 'the plan is in USD, the subscription in EUR' });
    expect(planChangeOutcome(sub(), { ...target, interval: 'yearly' })).toEqual({ status: 409, title: 'the plan is billed yearly, the subscription monthly' });
    expect(planChangeOutcome(sub(), { ...target, currency: 'USD', interval: 'yearly' })).toEqual({ status: 409, title: 'the plan is in USD, the subscription in EUR' });
    expect(planChangeOutcome(sub(), { ...target, version: 1, currency: 'usd' })).toMatchObject({ status: 409 });
  });

  it('allows one change per period', () => {
    expect(secondPlanChangeRefusal(false)).toBeNull();
    expect(secondPlanChangeRefusal(true)).toEqual({ status: 409, title: 'the plan was already changed this period; the next change can take effect from the next period' });
  });

  it('records when the change happened and what the period was on before', () => {
    expect(planChangeRecord(sub({ plan: 'basic', planVersion: 4 }), d('2026-03-16T12:00:00Z'))).toEqual({ changeAt: '2026-03-16T12:00:00.000Z', previousPlan: 'basic', previousVersion: 4 });
  });
});

describe('pause and resume', () => {
  it('pauses only an active subscription and resumes only a paused one', () => {
    expect(STATUSES.map((s) => pauseRefusal(s))).toEqual([null, { status: 409, title: 'the subscription is paused' }, { status: 409, title: 'the subscription is canceled' }]);
    expect(STATUSES.map((s) => resumeRefusal(s))).toEqual([{ status: 409, title: 'the subscription is active' }, null, { status: 409, title: 'the subscription is canceled' }]);
  });

  it('adds the running pause to the time paused, never less than nothing', () => {
    const pausedAt = d('2026-03-10T00:00:00Z');
    expect(pausedMsAfter({ pausedMs: 0, pausedAt }, d('2026-03-12T06:00:00Z'))).toBe(2.25 * 86_400_000);
    expect(pausedMsAfter({ pausedMs: 86_400_000, pausedAt }, d('2026-03-11T00:00:00Z'))).toBe(2 * 86_400_000);
    expect(pausedMsAfter({ pausedMs: 5, pausedAt }, pausedAt)).toBe(5);
    // A clock that stepped back does not take paused time away.
    expect(pausedMsAfter({ pausedMs: 5, pausedAt }, d('2026-03-09T00:00:00Z'))).toBe(5);
    expect(pausedMsAfter({ pausedMs: 0, pausedAt }, d('2026-03-10T00:00:00.001Z'))).toBe(1);
  });
});

describe('cancel', () => {
  const now = d('2026-03-20T08:00:00Z');

  it('at period end marks it; now ends the period now, ending a running pause', () => {
    expect(cancelDecision('active', true, now)).toEqual({ kind: 'at-period-end' });
    expect(cancelDecision('paused', true, now)).toEqual({ kind: 'at-period-end' });
    expect(cancelDecision('active', false, now)).toEqual({ kind: 'now', endsAt: now, endPause: false });
    expect(cancelDecision('paused', false, now)).toEqual({ kind: 'now', endsAt: now, endPause: true });
  });

  it('refuses a canceled subscription either way', () => {
    for (const atPeriodEnd of [true, false]) expect(cancelDecision('canceled', atPeriodEnd, now)).toEqual({ status: 409, title: 'the subscription is already canceled' });
  });
});

describe('rollDecision', () => {
  const end = d('2026-04-01T00:00:00Z');

  it('is not due before the period ends, nor for a canceled subscription; due exactly at the end', () => {
    expect(rollDecision(sub(), d('2026-03-31T23:59:59.999Z'))).toEqual({ kind: 'none' });
    expect(rollDecision(sub({ status: 'canceled' }), d('2027-01-01T00:00:00Z'))).toEqual({ kind: 'none' });
    expect(rollDecision(sub(), end)).toEqual({ kind: 'renew', next: { start: end, end: d('2026-05-01T00:00:00Z') }, endPauseAt: null, pausedFrom: null });
  });

  it('renews one period at a time, however late the job runs (catching up is one decision per period)', () => {
    expect(rollDecision(sub(), d('2026-09-15T00:00:00Z'))).toEqual({ kind: 'renew', next: { start: end, end: d('2026-05-01T00:00:00Z') }, endPauseAt: null, pausedFrom: null });
  });

  it('splits a running pause at the boundary: ended with the old period, running from the new one', () => {
    expect(rollDecision(sub({ status: 'paused' }), end)).toEqual({ kind: 'renew', next: { start: end, end: d('2026-05-01T00:00:00Z') }, endPauseAt: end, pausedFrom: end });
  });

  it('ends a subscription canceled at period end with its period (a running pause with it)', () => {
    expect(rollDecision(sub({ cancelAtPeriodEnd: true }), end)).toEqual({ kind: 'end', endPauseAt: null });
    expect(rollDecision(sub({ cancelAtPeriodEnd: true, status: 'paused' }), end)).toEqual({ kind: 'end', endPauseAt: end });
  });

  it('follows the rule: anniversary clamped to short months, in the customer zone, yearly', () => {
    const anniversary = sub({ billingTime: 'anniversary', startedAt: d('2026-01-31T00:00:00Z'), periodStart: d('2026-01-31T00:00:00Z'), periodEnd: d('2026-02-28T00:00:00Z') });
    expect(rollDecision(anniversary, d('2026-02-28T00:00:00Z'))).toMatchObject({ next: { start: d('2026-02-28T00:00:00Z'), end: d('2026-03-31T00:00:00Z') } });
    const berlin = sub({ timeZone: 'Europe/Berlin', periodStart: d('2026-02-28T23:00:00Z'), periodEnd: d('2026-03-31T22:00:00Z') });
    expect(rollDecision(berlin, d('2026-03-31T22:00:00Z'))).toMatchObject({ next: { start: d('2026-03-31T22:00:00Z'), end: d('2026-04-30T22:00:00Z') } });
    const yearly = sub({ interval: 'yearly', periodStart: d('2026-01-15T10:00:00Z'), periodEnd: d('2027-01-01T00:00:00Z') });
    expect(rollDecision(yearly, d('2027-01-01T00:00:00Z'))).toMatchObject({ next: { start: d('2027-01-01T00:00:00Z'), end: d('2028-01-01T00:00:00Z') } });
  });

  it('throws for a zone the runtime does not know (the job records the item as failing), not for one that is not due', () => {
    expect(() => rollDecision(sub({ timeZone: 'Mars/Olympus' }), end)).toThrow();
    expect(rollDecision(sub({ timeZone: 'Mars/Olympus' }), d('2026-03-15T00:00:00Z'))).toEqual({ kind: 'none' });
    // Canceling at period end needs no next period, so an unknown zone does not stop it.
    expect(rollDecision(sub({ timeZone: 'Mars/Olympus', cancelAtPeriodEnd: true }), end)).toEqual({ kind: 'end', endPauseAt: null });
  });
});
