import { pickWithinLimits, saturated, type InFlight } from './send-limits';

const limits = { total: 4, perTenant: 3, perEndpoint: 2 };
const none: InFlight = { total: 0, byTenant: new Map(), byEndpoint: new Map() };
const c = (id: string, tenant: string, endpointId: string) => ({ id, tenant, endpointId });

describe('pickWithinLimits', () => {
  it('takes candidates in order up to each limit, skipping (not stopping at) a full endpoint or tenant', () => {
    const candidates = [c('1', 'a', 'a1'), c('2', 'a', 'a1'), c('3', 'a', 'a1'), c('4', 'b', 'b1'), c('5', 'a', 'a2'), c('6', 'a', 'a2'), c('7', 'b', 'b1')];
    // a1 holds 2 (its limit), a reaches 3 with a2's first, b gets a slot although a's candidates came first; total 4.
    expect(pickWithinLimits(candidates, none, limits).map((x) => x.id)).toEqual(['1', '2', '4', '5']);
  });

  it('counts what is already in flight: a dead endpoint holding its slots leaves the rest to others', () => {
    const inFlight: InFlight = { total: 2, byTenant: new Map([['dead', 2]]), byEndpoint: new Map([['d1', 2]]) };
    const candidates = [c('1', 'dead', 'd1'), c('2', 'dead', 'd1'), c('3', 'live', 'l1'), c('4', 'live', 'l1'), c('5', 'live', 'l1')];
    expect(pickWithinLimits(candidates, inFlight, limits).map((x) => x.id)).toEqual(['3', '4']);
  });

  it('picks nothing when the total is used up or there is nothing to pick', () => {
    expect(pickWithinLimits([c('1', 'a', 'a1')], { ...none, total: 4 }, limits)).toEqual([]);
    expect(pickWithinLimits([], none, limits)).toEqual([]);
  });

  it('never exceeds any limit, whatever the candidate mix', () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let round = 0; round < 50; round++) {
      const candidates = Array.from({ length: 30 }, (_, i) => {
        const tenant = `t${random(3)}`;
        return c(String(i), tenant, `${tenant}-e${random(3)}`);
      });
      const picked = pickWithinLimits(candidates, none, limits);
      expect(picked.length).toBeLessThanOrEqual(limits.total);
      const count = (key: (x: (typeof picked)[number]) => string) => Math.max(0, ...[...picked.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map<string, number>()).values()]);
      expect(count((x) => x.tenant)).toBeLessThanOrEqual(limits.perTenant);
      expect(count((x) => x.endpointId)).toBeLessThanOrEqual(limits.perEndpoint);
    }
  });
});

describe('saturated', () => {
  it('names the endpoints and tenants at their limit', () => {
    const inFlight: InFlight = { total: 3, byTenant: new Map([['a', 3], ['b', 1]]), byEndpoint: new Map([['a1', 2], ['a2', 1], ['b1', 1]]) };
    expect(saturated(inFlight, limits)).toEqual({ endpoints: ['a1'], tenants: ['a'] });
  });
});
