import { planCost, recommendUpgrade, type PlanTerms } from './upgrade-recommendation';

// Starter: 10 EUR, 1000 tokens included, 0.05 each above. Pro: 49 EUR, 10000 included, 0.01 above.
const starter: PlanTerms = {
  code: 'starter', currency: 'EUR', interval: 'monthly', baseFee: '10',
  charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0.05' }, includedUnits: '1000' }],
};
const pro: PlanTerms = {
  code: 'pro', currency: 'EUR', interval: 'monthly', baseFee: '49',
  charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0.01' }, includedUnits: '10000' }],
};
const usage = (tokens: string, extra: Record<string, string> = {}) => new Map(Object.entries({ tokens, ...extra }));

describe('planCost', () => {
  it('adds the base fee to every charge over the units above its included ones, exactly', () => {
    expect(planCost(starter, usage('1000'))!.toFixed()).toBe('10');
    expect(planCost(starter, usage('3000.5'))!.toFixed()).toBe('110.025');
    expect(planCost(pro, usage('3000'))!.toFixed()).toBe('49');
    // A meter without projected usage costs its charge at 0 units.
    expect(planCost(starter, new Map())!.toFixed()).toBe('10');
  });

  it('is null when a charge cannot be priced from a period total', () => {
    expect(planCost({ ...starter, charges: [{ meter: 'tokens', model: 'dynamic', properties: {} }] }, usage('5'))).toBeNull();
  });
});

describe('recommendUpgrade', () => {
  it('recommends a higher plan that costs less over the projected usage, with the saving', () => {
    // 5000 tokens: starter 10 + 4000 × 0.05 = 210; pro 49.
    expect(recommendUpgrade(starter, [starter, pro], usage('5000'))).toEqual({
      currentPlan: 'starter', plan: 'pro', currency: 'EUR', currentCost: '210', recommendedCost: '49', saving: '161',
    });
  });

  it('recommends nothing when no higher plan is cheaper, or costs exactly the same', () => {
    // 1500 tokens: starter 35 < pro 49.
    expect(recommendUpgrade(starter, [pro], usage('1500'))).toBeNull();
    // 1780 tokens: starter 10 + 780 × 0.05 = 49 = pro.
    expect(recommendUpgrade(starter, [pro], usage('1780'))).toBeNull();
    expect(recommendUpgrade(starter, [pro], usage('1780.01'))!.saving).toBe('0.0005');
  });

  it('ignores plans in another currency or interval, with a base fee not higher, and the current plan itself', () => {
    const projected = usage('5000');
    expect(recommendUpgrade(starter, [{ ...pro, currency: 'USD' }], projected)).toBeNull();
    expect(recommendUpgrade(starter, [{ ...pro, interval: 'yearly' }], projected)).toBeNull();
    // Cheaper, but not a higher plan: a lower or equal base fee is a downgrade or a sideways move.
    expect(recommendUpgrade(starter, [{ ...pro, code: 'flat', baseFee: '10' }], projected)).toBeNull();
    expect(recommendUpgrade(starter, [{ ...pro, code: 'starter' }], projected)).toBeNull();
  });

  it('ignores a plan that does not charge a meter the customer uses on the current plan', () => {
    const withApi: PlanTerms = { ...starter, charges: [...starter.charges, { meter: 'api_calls', model: 'standard', properties: { amount: '0.001' } }] };
    expect(recommendUpgrade(withApi, [pro], usage('5000', { api_calls: '10' }))).toBeNull();
    // Unused, it does not matter.
    expect(recommendUpgrade(withApi, [pro], usage('5000', { api_calls: '0' }))!.plan).toBe('pro');
  });

  it('picks the greatest saving; on a tie the lower base fee, then the code', () => {
    const business: PlanTerms = { ...pro, code: 'business', baseFee: '99', charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0' } }] };
    // 100000 tokens: starter 4960, pro 49 + 900 = 949, business 99.
    expect(recommendUpgrade(starter, [pro, business], usage('100000'))!.plan).toBe('business');
    const twin = { ...pro, code: 'pro-b' };
    expect(recommendUpgrade(starter, [twin, pro], usage('5000'))!.plan).toBe('pro');
    const dearer = { ...pro, code: 'a-pro', baseFee: '49', charges: pro.charges };
    expect(recommendUpgrade(starter, [dearer, pro], usage('5000'))!.plan).toBe('a-pro');
  });

  it('recommends nothing when the current plan or the candidate cannot be priced', () => {
    const unpriceable: PlanTerms = { ...starter, charges: [{ meter: 'tokens', model: 'dynamic', properties: {} }] };
    expect(recommendUpgrade(unpriceable, [pro], usage('5000'))).toBeNull();
    expect(recommendUpgrade(starter, [{ ...pro, charges: [{ meter: 'tokens', model: 'dynamic', properties: {} }] }], usage('5000'))).toBeNull();
  });
});
