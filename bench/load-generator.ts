/**
 * The benchmark's usage: Zipf-skewed customers (a few heavy, a long tail), three meters, 1 % of events
 * resent with the same id (a retrying producer) and 1 % late (1-3 days old). It keeps the exact totals
 * every customer must end up with, so a run can prove it counted exactly.
 */
export interface GeneratorOptions {
  events: number;
  customers: number;
  duplicateRate: number;
  lateRate: number;
  seed: number;
  now: Date;
  /** Zipf exponent of the customers' share of events (default 1.1: a few heavy, a long tail); 0 = uniform. */
  customerSkew?: number;
}

export interface RawEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: { calls: number; user: string };
}

export interface ExpectedTotals {
  /** `${customer}|${YYYY-MM}` -> totals of the calendar month (UTC) the events fall in. */
  byCustomerMonth: Map<string, { calls: number; requests: number; users: Set<string> }>;
  unique: number;
  sent: number;
}

/** Mulberry32: small, fast, seeded, so runs are repeatable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s;
    cdf[k - 1] = total;
  }
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Yields events in send order (duplicates interleaved) and fills `expected` as it goes. */
export function* generateEvents(o: GeneratorOptions, expected: ExpectedTotals): Generator<RawEvent> {
  const random = rng(o.seed);
  const customer = zipfSampler(o.customers, o.customerSkew ?? 1.1, random);
  const recent: RawEvent[] = [];
  let unique = 0;
  while (unique < o.events) {
    if (recent.length > 0 && random() < o.duplicateRate) {
      expected.sent += 1;
      yield recent[Math.floor(random() * recent.length)];
      continue;
    }
    const late = random() < o.lateRate;
    const ageMs = late ? 86_400_000 * (1 + 2 * random()) : 3_600_000 * random();
    const event: RawEvent = {
      specversion: '1.0',
      id: `e${unique}`,
      source: 'bench',
      type: 'api.call',
      subject: `customer-${customer()}`,
      time: new Date(o.now.getTime() - ageMs).toISOString(),
      data: { calls: 1 + Math.floor(random() * 10), user: `user-${Math.floor(random() * 50)}` },
    };
    unique += 1;
    const key = `${event.subject}|${event.time.slice(0, 7)}`;
    const totals = expected.byCustomerMonth.get(key) ?? { calls: 0, requests: 0, users: new Set<string>() };
    totals.calls += event.data.calls;
    totals.requests += 1;
    totals.users.add(event.data.user);
    expected.byCustomerMonth.set(key, totals);
    expected.unique = unique;
    expected.sent += 1;
    if (recent.length < 1000) recent.push(event);
    else recent[Math.floor(random() * 1000)] = event;
    yield event;
  }
}
