import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { HealthBand } from '@tally/contracts';
import { feedAtSql, feedFilter, feedPage, FeedQueryError, parseFeedPage, problem, ProjectedApiKeyGuard, READ_DATA_SOURCE, Tenant, type FeedPage } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';

export const SIGNAL_TYPES = ['churn-risk', 'expansion'] as const;
type SignalType = (typeof SIGNAL_TYPES)[number];

/** What a churn-risk signal said, as the score history keeps it (reasons and recommended action are on the event only). */
export interface ChurnRiskFeedItem {
  type: 'churn-risk';
  customer: string;
  at: string;
  trigger: string;
  score: number;
  band: HealthBand;
  previousScore: number | null;
  previousBand: HealthBand | null;
}

/** An expansion signal as kept for its once-only check: which signal and its identity (period, or period:plan). */
export interface ExpansionFeedItem {
  type: 'expansion';
  customer: string;
  at: string;
  signal: string;
  signalKey: string;
}

interface FeedRow {
  id: string;
  at: string;
  customer: string;
}

const PARAMS = new Set(['type', 'customer', 'since', 'limit', 'cursor']);

/** Churn-risk and expansion signals, newest first, from the tables that decided them; bound to the API key's tenant. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class HealthSignalsFeedController {
  constructor(@Inject(READ_DATA_SOURCE) private readonly read: DataSource) {}

  /** `type` (churn-risk | expansion, required), `customer`, `since` (RFC 3339), `limit` 1-500 (default 50), `cursor`. */
  @Get('health/signals')
  async list(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<{ items: Array<ChurnRiskFeedItem | ExpansionFeedItem>; nextCursor: string | null }> {
    try {
      const unknown = Object.keys(query).find((k) => !PARAMS.has(k));
      if (unknown !== undefined) throw new FeedQueryError(`/${unknown.slice(0, 50)}`, 'is not a parameter of this route');
      const type = feedFilter('type', query.type);
      if (type === null || !(SIGNAL_TYPES as readonly string[]).includes(type)) throw new FeedQueryError('/type', `must be one of ${SIGNAL_TYPES.join(', ')}`);
      const customer = feedFilter('customer', query.customer);
      const page = parseFeedPage(query);
      return type === ('churn-risk' satisfies SignalType) ? await this.churnRisk(tenant, customer, page) : await this.expansion(tenant, customer, page);
    } catch (e) {
      if (e instanceof FeedQueryError) throw problem(400, 'invalid query', [{ pointer: e.pointer, detail: e.detail }]);
      throw e;
    }
  }

  private async churnRisk(tenant: string, customer: string | null, page: FeedPage) {
    const s = schemaOf(this.read);
    // The previous score is the customer's history row before this one (what the signal compared against).
    const rows: Array<FeedRow & { trigger: string; score: string; band: HealthBand; previous_score: string | null; previous_band: HealthBand | null }> = await this.read.query(
      `SELECT h.id::text, ${feedAtSql('h.scored_at')} AS at, h.customer, h.trigger, h.score::text, h.band, p.score::text AS previous_score, p.band AS previous_band
       FROM ${s}.score_history h
       LEFT JOIN LATERAL (
         SELECT score, band FROM ${s}.score_history b
         WHERE b.tenant = h.tenant AND b.customer = h.customer AND (b.scored_at, b.id) < (h.scored_at, h.id)
         ORDER BY b.scored_at DESC, b.id DESC LIMIT 1) p ON true
       WHERE h.tenant = $1 AND h.trigger IS NOT NULL AND ($2::text IS NULL OR h.customer = $2)
         AND ($3::timestamptz IS NULL OR h.scored_at >= $3) AND ($4::timestamptz IS NULL OR (h.scored_at, h.id) < ($4, $5::bigint))
       ORDER BY h.scored_at DESC, h.id DESC LIMIT $6`,
      [tenant, customer, page.since, page.after?.at ?? null, page.after?.id ?? null, page.limit + 1],
    );
    const { page: shown, nextCursor } = feedPage(rows, page.limit, (r) => r);
    const items = shown.map((r): ChurnRiskFeedItem => ({
      type: 'churn-risk', customer: r.customer, at: r.at, trigger: r.trigger, score: Number(r.score), band: r.band,
      previousScore: r.previous_score === null ? null : Number(r.previous_score), previousBand: r.previous_band,
    }));
    return { items, nextCursor };
  }

  private async expansion(tenant: string, customer: string | null, page: FeedPage) {
    const rows: Array<FeedRow & { signal: string; signal_key: string }> = await this.read.query(
      `SELECT id::text, ${feedAtSql('emitted_at')} AS at, customer, signal, signal_key FROM ${schemaOf(this.read)}.expansion_signals
       WHERE tenant = $1 AND ($2::text IS NULL OR customer = $2)
         AND ($3::timestamptz IS NULL OR emitted_at >= $3) AND ($4::timestamptz IS NULL OR (emitted_at, id) < ($4, $5::bigint))
       ORDER BY emitted_at DESC, id DESC LIMIT $6`,
      [tenant, customer, page.since, page.after?.at ?? null, page.after?.id ?? null, page.limit + 1],
    );
    const { page: shown, nextCursor } = feedPage(rows, page.limit, (r) => r);
    return { items: shown.map((r): ExpansionFeedItem => ({ type: 'expansion', customer: r.customer, at: r.at, signal: r.signal, signalKey: r.signal_key })), nextCursor };
  }
}
