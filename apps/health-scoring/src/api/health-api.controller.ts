import { Body, Controller, Get, Inject, Param, Put, Query, UseGuards } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HEALTH_BANDS, type HealthBand } from '@tally/contracts';
import { OutboxPublisher, problem, ProjectedApiKeyGuard, READ_DATA_SOURCE, Tenant } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { DEFAULT_WEIGHTS, weightProblems, type HealthWeights } from '../domain/health-weights';

interface HealthRow {
  customer: string;
  score: string | null;
  band: HealthBand | null;
  components: Record<string, number> | null;
  contributions: Record<string, number> | null;
  scored_at: Date | null;
}

const view = (r: HealthRow) => ({
  customer: r.customer,
  score: r.score === null ? null : Number(r.score),
  band: r.band,
  inputs: r.components ?? {},
  contributions: r.contributions ?? {},
  scoredAt: r.scored_at?.toISOString() ?? null,
});

/** Health scores, their history and the tenant's weights; every query is bound to the API key's tenant. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class HealthApiController {
  constructor(
    @Inject(READ_DATA_SOURCE) private readonly read: DataSource,
    private readonly outbox: OutboxPublisher,
  ) {}

  @Get('health/weights')
  async weights(@Tenant() tenant: string): Promise<{ weights: HealthWeights; isDefault: boolean }> {
    const [row]: Array<{ weights: HealthWeights }> = await this.read.query(`SELECT weights FROM ${schemaOf(this.read)}.tenant_weights WHERE tenant = $1`, [tenant]);
    return { weights: row?.weights ?? DEFAULT_WEIGHTS, isDefault: !row };
  }

  /** Replaces the weights (4-6 inputs, whole percents summing to 100); every customer is rescored with them. */
  @Put('health/weights')
  async setWeights(@Tenant() tenant: string, @Body() body: unknown): Promise<{ weights: HealthWeights; isDefault: boolean }> {
    const weights = (body as { weights?: unknown } | null)?.weights;
    const problems = weightProblems(weights);
    if (problems.length > 0) throw problem(400, problems.map((p) => p.detail).join('; '), problems.map((p) => ({ pointer: `/weights${p.pointer}`, detail: p.detail })));
    await this.outbox.inTransaction(async (m) => {
      const s = schemaOf(m.connection);
      await m.query(`INSERT INTO ${s}.tenant_weights (tenant, weights) VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE SET weights = excluded.weights, updated_at = now()`, [tenant, JSON.stringify(weights)]);
      await m.query(`UPDATE ${s}.customer_health SET rescore_due_at = now() WHERE tenant = $1`, [tenant]);
    });
    return { weights: weights as HealthWeights, isDefault: false };
  }

  /** Customers by band (optional), ordered by customer id, `limit` (1-500, default 100) after the cursor. */
  @Get('customers/health')
  async list(@Tenant() tenant: string, @Query('band') band?: string, @Query('limit') limit?: string, @Query('after') after?: string) {
    if (band !== undefined && !(HEALTH_BANDS as readonly string[]).includes(band)) throw problem(400, 'invalid query', [{ pointer: '/band', detail: `must be one of ${HEALTH_BANDS.join(', ')}` }]);
    const size = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 500) throw problem(400, 'invalid query', [{ pointer: '/limit', detail: 'must be a whole number from 1 to 500' }]);
    const rows: HealthRow[] = await this.read.query(
      `SELECT customer, score::text, band, components, contributions, scored_at FROM ${schemaOf(this.read)}.customer_health
       WHERE tenant = $1 AND score IS NOT NULL AND ($2::text IS NULL OR band = $2) AND ($3::text IS NULL OR customer > $3)
       ORDER BY customer LIMIT $4`,
      [tenant, band ?? null, after ?? null, size + 1],
    );
    const page = rows.slice(0, size);
    return { items: page.map(view), nextCursor: rows.length > size ? page[page.length - 1].customer : null };
  }

  /** One customer's score, inputs, contributions and history (newest first, at most 1000 entries). */
  @Get('customers/:customer/health')
  async customer(@Tenant() tenant: string, @Param('customer') customer: string) {
    const s = schemaOf(this.read);
    const [row]: HealthRow[] = await this.read.query(`SELECT customer, score::text, band, components, contributions, scored_at FROM ${s}.customer_health WHERE tenant = $1 AND customer = $2 AND score IS NOT NULL`, [tenant, customer]);
    if (!row) throw problem(404, `no health score for customer "${customer}"`);
    const history: Array<{ scored_at: Date; score: string; band: HealthBand; inputs: Record<string, number> | null; contributions: Record<string, number> | null; trigger: string | null }> = await this.read.query(
      `SELECT scored_at, score::text, band, inputs, contributions, trigger FROM ${s}.score_history WHERE tenant = $1 AND customer = $2 ORDER BY scored_at DESC, id DESC LIMIT 1000`,
      [tenant, customer],
    );
    return {
      ...view(row),
      history: history.map((h) => ({ scoredAt: h.scored_at.toISOString(), score: Number(h.score), band: h.band, inputs: h.inputs ?? {}, contributions: h.contributions ?? {}, churnRisk: h.trigger })),
    };
  }

  /** Customers the rescoring job could not score (isolated, retried with backoff). */
  @Get('health/rescore-failures')
  async failures(@Tenant() tenant: string) {
    const rows: Array<{ customer: string; error: string; attempts: number; first_failed_at: Date; last_failed_at: Date; next_attempt_at: Date }> = await this.read.query(
      `SELECT customer, error, attempts, first_failed_at, last_failed_at, next_attempt_at FROM ${schemaOf(this.read)}.rescore_failures WHERE tenant = $1 ORDER BY first_failed_at, customer LIMIT 1000`,
      [tenant],
    );
    return { items: rows.map((r) => ({ customer: r.customer, error: r.error, attempts: r.attempts, firstFailedAt: r.first_failed_at.toISOString(), lastFailedAt: r.last_failed_at.toISOString(), nextAttemptAt: r.next_attempt_at.toISOString() })) };
  }
}
