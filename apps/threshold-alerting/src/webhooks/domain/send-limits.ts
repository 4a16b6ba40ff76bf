/**
 * How many requests may be in flight at once, overall, per tenant and per endpoint. A dead or slow endpoint can
 * hold at most its own share (each request ends at the timeout), so other endpoints' and tenants' deliveries
 * always find a free slot.
 */
export interface SendLimits {
  total: number;
  perTenant: number;
  perEndpoint: number;
}

export interface InFlight {
  total: number;
  byTenant: ReadonlyMap<string, number>;
  byEndpoint: ReadonlyMap<string, number>;
}

export interface Candidate {
  id: string;
  tenant: string;
  endpointId: string;
}

/** The candidates (in their order: longest waiting first) that fit beside what is in flight. */
export function pickWithinLimits<C extends Candidate>(candidates: readonly C[], inFlight: InFlight, limits: SendLimits): C[] {
  const tenants = new Map(inFlight.byTenant);
  const endpoints = new Map(inFlight.byEndpoint);
  let total = inFlight.total;
  const picked: C[] = [];
  for (const c of candidates) {
    if (total >= limits.total) break;
    const t = tenants.get(c.tenant) ?? 0;
    const e = endpoints.get(c.endpointId) ?? 0;
    if (t >= limits.perTenant || e >= limits.perEndpoint) continue;
    tenants.set(c.tenant, t + 1);
    endpoints.set(c.endpointId, e + 1);
    total++;
    picked.push(c);
  }
  return picked;
}

/** Endpoints and tenants already at their limit: the claim query skips their deliveries without locking them. */
export function saturated(inFlight: InFlight, limits: SendLimits): { endpoints: string[]; tenants: string[] } {
  return {
    endpoints: [...inFlight.byEndpoint].filter(([, n]) => n >= limits.perEndpoint).map(([id]) => id),
    tenants: [...inFlight.byTenant].filter(([, n]) => n >= limits.perTenant).map(([t]) => t),
  };
}
