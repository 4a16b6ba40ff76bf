import { randomUUID } from 'node:crypto';
import { TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { healthScoringService } from '../health-scoring.service';
import type { ChurnRiskFeedItem, ExpansionFeedItem } from './health-signals-feed.controller';

const ACME = { tenant: 'acme', key: 'key-signals-acme' };
const BETA = { tenant: 'beta', key: 'key-signals-beta' };

/**
 * The feed reads the rows rescoring writes (score_history with a trigger, expansion_signals); how they come to be
 * is health-scoring.integration-spec's part, so here they are written as rescoring writes them, at chosen times.
 */
describe('health signals feed (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const schema = suite.schema('health-scoring');
  let service: ServiceApp;
  let base: string;
  type Item = Partial<Omit<ChurnRiskFeedItem, 'type'> & Omit<ExpansionFeedItem, 'type'>> & { type: string };
  const get = async (key: string | null, path: string): Promise<{ status: number; body: { items: Item[]; nextCursor: string | null; errors?: Array<{ pointer: string }> } }> => {
    const res = await fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, body: (await res.json()) as never };
  };
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
  const history = (tenant: string, customer: string, minute: number, score: number, band: string, trigger: string | null) =>
    suite.query(`INSERT INTO "${schema}".score_history (tenant, customer, scored_at, score, band, trigger) VALUES ($1, $2, $3, $4, $5, $6)`, [tenant, customer, at(minute), score, band, trigger]);
  const expansion = (tenant: string, customer: string, minute: number, signal: string, key: string) =>
    suite.query(`INSERT INTO "${schema}".expansion_signals (tenant, customer, signal, signal_key, emitted_at) VALUES ($1, $2, $3, $4, $5)`, [tenant, customer, signal, key, at(minute)]);

  beforeAll(async () => {
    await suite.createTopics();
    for (const t of [ACME, BETA]) {
      const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: t.tenant, keyId: randomUUID(), keyHash: hashApiKey(t.key), revoked: false };
      await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage(t.tenant, key)]);
    }
    service = await createServiceApp(healthScoringService, suite.serviceConfig(healthScoringService));
    await service.app.listen(0, '127.0.0.1');
    base = await service.app.getUrl();
    await expectEventually(async () => expect((await get(ACME.key, '/api/v1/health/signals?type=expansion')).status).toBe(200));

    await history(ACME.tenant, 'c-1', 1, 80, 'green', null);
    await history(ACME.tenant, 'c-1', 2, 55, 'yellow', 'entered_band');
    await history(ACME.tenant, 'c-1', 3, 35, 'red', 'entered_band');
    await history(ACME.tenant, 'c-2', 3, 60, 'yellow', 'sharp_drop');
    await history(BETA.tenant, 'c-1', 4, 20, 'red', 'entered_band');
    await expansion(ACME.tenant, 'c-3', 5, 'excellent_band', '17');
    await expansion(ACME.tenant, 'c-3', 6, 'repeated_overage', '2026-02-01T00:00:00.000Z');
    await expansion(BETA.tenant, 'c-3', 7, 'upgrade_recommended', '2026-02-01T00:00:00.000Z:enterprise');
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('lists churn-risk signals newest first with the score they moved from, to their tenant only', async () => {
    const { body } = await get(ACME.key, '/api/v1/health/signals?type=churn-risk');
    // c-1 at 3 and c-2 at 3 share a time: the later row (c-2) comes first.
    expect(body.items.map((i) => [i.customer, i.at, i.trigger, i.score, i.band, i.previousScore, i.previousBand])).toEqual([
      ['c-2', '2026-03-01T09:03:00.000000Z', 'sharp_drop', 60, 'yellow', null, null],
      ['c-1', '2026-03-01T09:03:00.000000Z', 'entered_band', 35, 'red', 55, 'yellow'],
      ['c-1', '2026-03-01T09:02:00.000000Z', 'entered_band', 55, 'yellow', 80, 'green'],
    ]);
    expect(body.nextCursor).toBeNull();
    expect((await get(BETA.key, '/api/v1/health/signals?type=churn-risk')).body.items.map((i) => [i.customer, i.score])).toEqual([['c-1', 20]]);
    expect((await get(ACME.key, '/api/v1/health/signals?type=churn-risk&customer=c-1')).body.items).toHaveLength(2);
    expect((await get(ACME.key, `/api/v1/health/signals?type=churn-risk&since=${encodeURIComponent(at(3))}`)).body.items.map((i) => i.customer)).toEqual(['c-2', 'c-1']);
  });

  it('lists expansion signals newest first, to their tenant only', async () => {
    expect((await get(ACME.key, '/api/v1/health/signals?type=expansion')).body.items).toEqual([
      { type: 'expansion', customer: 'c-3', at: '2026-03-01T09:06:00.000000Z', signal: 'repeated_overage', signalKey: '2026-02-01T00:00:00.000Z' },
      { type: 'expansion', customer: 'c-3', at: '2026-03-01T09:05:00.000000Z', signal: 'excellent_band', signalKey: '17' },
    ]);
    expect((await get(BETA.key, '/api/v1/health/signals?type=expansion&customer=c-3')).body.items.map((i) => i.signal)).toEqual(['upgrade_recommended']);
  });

  it('pages without gaps or repeats, and a cursor never reaches another tenant', async () => {
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof get>> = await get(ACME.key, `/api/v1/health/signals?type=churn-risk&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      walked.push(...page.body.items.map((i) => `${i.customer}@${i.at}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual(['c-2@2026-03-01T09:03:00.000000Z', 'c-1@2026-03-01T09:03:00.000000Z', 'c-1@2026-03-01T09:02:00.000000Z']);
    const first = await get(ACME.key, '/api/v1/health/signals?type=churn-risk&limit=1');
    const other = await get(BETA.key, `/api/v1/health/signals?type=churn-risk&cursor=${first.body.nextCursor}`);
    // The cursor only positions: beta's own row (09:04) lies before it in the order, so beta sees nothing of acme's.
    expect(other.status).toBe(200);
    expect(other.body.items).toEqual([]);
  });

  it('refuses hostile parameters and callers without a valid key', async () => {
    for (const [query, pointer] of [
      ['', '/type'], ['type=churn', '/type'], ['type=expansion&type=churn-risk', '/type'], ['type=expansion&limit=0', '/limit'],
      ['type=expansion&cursor=%27%20OR%201%3D1', '/cursor'], ['type=expansion&since=2026-13-01T00:00:00Z', '/since'], ['type=expansion&tenant=beta', '/tenant'],
    ]) {
      const res = await get(ACME.key, `/api/v1/health/signals?${query}`);
      expect([query, res.status, res.body.errors?.[0]?.pointer]).toEqual([query, 400, pointer]);
    }
    expect((await get(null, '/api/v1/health/signals?type=expansion')).status).toBe(401);
  });
});
