/** An upstream service of the front door, as named in the OpenAPI document's `x-tally-service`. */
export type UpstreamName = 'ingestion' | 'aggregation' | 'threshold-alerting' | 'billing' | 'health-scoring';
export const UPSTREAMS: readonly UpstreamName[] = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'];

export interface Route {
  method: string;
  /** The OpenAPI path template, e.g. `/api/v1/meters/{slug}/query`: the metrics label, bounded by the document. */
  template: string;
  upstream: UpstreamName;
}

export type Resolution = { found: true; route: Route } | { found: false; status: 404 } | { found: false; status: 405; allow: string[] };

interface OpenApiPaths {
  paths: Record<string, Record<string, unknown>>;
}

interface CompiledTemplate {
  template: string;
  segments: RegExp[];
  /** Per segment: 2 literal, 1 literal with a parameter in it (`{id}.pdf`), 0 a bare parameter. */
  specificity: number[];
  operations: Map<string, UpstreamName>;
}

const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compileSegment(segment: string): { pattern: RegExp; specificity: number } {
  if (/^\{[^}]+\}$/.test(segment)) return { pattern: /^[^/]+$/, specificity: 0 };
  if (!segment.includes('{')) return { pattern: new RegExp(`^${escapeRegExp(segment)}$`), specificity: 2 };
  const source = segment
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : escapeRegExp(part)))
    .join('');
  return { pattern: new RegExp(`^${source}$`), specificity: 1 };
}

/** Segment by segment, a literal beats a parameter: `/customers/health` is health-scoring's, not billing's `/customers/{id}`. */
function moreSpecific(a: CompiledTemplate, b: CompiledTemplate): number {
  for (let i = 0; i < a.specificity.length; i++) if (a.specificity[i] !== b.specificity[i]) return b.specificity[i] - a.specificity[i];
  return 0;
}

/**
 * The front door's routing table: which upstream serves a method and path. Built from the generated OpenAPI
 * document (one place, generated from the services' controllers), so a route is routed exactly when it is documented.
 */
export class RouteTable {
  private readonly byLength = new Map<number, CompiledTemplate[]>();

  constructor(document: OpenApiPaths) {
    for (const [template, item] of Object.entries(document.paths)) {
      const compiled = template.split('/').slice(1).map(compileSegment);
      const operations = new Map<string, UpstreamName>();
      for (const [method, operation] of Object.entries(item)) {
        const upstream = (operation as Record<string, unknown> | undefined)?.['x-tally-service'];
        if (!HTTP_METHODS.includes(method.toUpperCase()) || upstream === undefined) continue;
        if (!UPSTREAMS.includes(upstream as UpstreamName)) throw new Error(`${method.toUpperCase()} ${template}: unknown upstream ${String(upstream)}`);
        operations.set(method.toUpperCase(), upstream as UpstreamName);
      }
      if (operations.size === 0) continue;
      const entry: CompiledTemplate = { template, segments: compiled.map((c) => c.pattern), specificity: compiled.map((c) => c.specificity), operations };
      const list = this.byLength.get(compiled.length) ?? [];
      list.push(entry);
      this.byLength.set(compiled.length, list);
    }
    for (const list of this.byLength.values()) list.sort(moreSpecific);
  }

  /** Every routed method and template (for tests and the docs). */
  routes(): Route[] {
    return [...this.byLength.values()].flat().flatMap((t) => [...t.operations].map(([method, upstream]) => ({ method, template: t.template, upstream })));
  }

  /**
   * `path` is the request's raw path (no query). Segments are matched as sent (percent-encoded), as the upstream's
   * router sees them; one trailing slash is tolerated like Express does. HEAD is served by GET routes.
   */
  resolve(method: string, path: string): Resolution {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const segments = trimmed.split('/').slice(1);
    const candidates = (this.byLength.get(segments.length) ?? []).filter((t) => t.segments.every((pattern, i) => pattern.test(segments[i])));
    if (candidates.length === 0) return { found: false, status: 404 };
    const wanted = method === 'HEAD' ? 'GET' : method;
    // The most specific template that has this method, falling back to less specific ones as one Express router would.
    for (const candidate of candidates) {
      const upstream = candidate.operations.get(wanted);
      if (upstream) return { found: true, route: { method: wanted, template: candidate.template, upstream } };
    }
    const allow = [...new Set(candidates.flatMap((c) => [...c.operations.keys()]))].sort();
    return { found: false, status: 405, allow };
  }
}
