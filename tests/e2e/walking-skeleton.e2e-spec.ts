import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { startTelemetry, stopTelemetry, traceHeaders } from '@tally/telemetry';
import { HEADERS, TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type CollectedMessage } from '@tally/testing';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { MeterCatalogService } from '../../apps/ingestion/src/meters/meter-catalog.service';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { thresholdAlertingService } from '../../apps/threshold-alerting/src/threshold-alerting.service';
import { billingService } from '../../apps/billing/src/billing.service';
import { CatalogRepository } from '../../apps/billing/src/catalog/catalog.repository';
import { InvoiceService } from '../../apps/billing/src/invoices/invoice.service';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';
import { healthScoringService } from '../../apps/health-scoring/src/health-scoring.service';

const traceIdOf = (m: CollectedMessage) => m.headers.traceparent?.split('-')[1];

/**
 * The walking skeleton: one usage event produced to `usage.events.raw.v1` travels through all five
 * services (real Kafka, real Postgres, each service in its own schema), and every derived event
 * carries the trace of the event that caused it.
 */
describe('walking skeleton: raw usage event -> ingestion -> aggregation -> threshold-alerting / billing -> health-scoring', () => {
  const suite = new TestSuite();
  const spans = new tracing.InMemorySpanExporter();
  const apps: ServiceApp[] = [];

  beforeAll(async () => {
    startTelemetry({ serviceName: 'e2e', spanProcessors: [new tracing.SimpleSpanProcessor(spans)] });
    await suite.createTopics();
    for (const definition of [ingestionService, aggregationService, thresholdAlertingService, billingService, healthScoringService]) {
      const service = await createServiceApp(definition, suite.serviceConfig(definition, { ADMIN_TOKEN: 'e2e-admin-token-0123456789' }));
      await service.app.listen(0, '127.0.0.1');
      apps.push(service);
    }
  });

  afterAll(async () => {
    for (const { app } of apps.reverse()) await app.close();
    await stopTelemetry();
    await suite.cleanup();
  });

  it('derives events on every topic, each carrying the trace context of the usage event', async () => {
    const [ingestion, , thresholdAlerting, billing] = apps;
    const collector = await suite.collect([
      TOPICS.usageEvents,
      TOPICS.usageAggregates,
      TOPICS.alertsUsageThreshold,
      TOPICS.customersHealth,
      TOPICS.usageEventsDlq,
      TOPICS.billingInvoices,
    ]);

    await ingestion.app.get(ApiKeyService).createTenant('acme', 'Acme');
    const { key } = await ingestion.app.get(ApiKeyService).createKey('acme', 'e2e');
    await ingestion.app.get(MeterCatalogService).upsert('acme', { slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    await billing.app.get(CatalogRepository).upsertCustomer('acme', { id: 'c-1', name: 'Customer One', currency: 'EUR', timezone: 'UTC', taxRate: '0' });
    await billing.app.get(CatalogRepository).addPlanVersion('acme', {
      code: 'starter',
      name: 'Starter',
      interval: 'monthly',
      currency: 'EUR',
      baseFee: '0',
      charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '10', thresholds: [50, 75, 90, 100], hardLimit: false }],
    });
    await billing.app.get(SubscriptionService).create('acme', { customer: 'c-1', plan: 'starter' });
    // Alerts are evaluated when usage arrives; wait until the entitlement is projected so they are caused by usage.
    await expectEventually(async () =>
      expect(await suite.query(`SELECT 1 FROM "${suite.schema('threshold-alerting')}".entitlements WHERE customer = 'c-1'`)).toHaveLength(1),
    );

    const producerSpan = trace.getTracer('e2e').startSpan('product service sends usage', {}, ROOT_CONTEXT);
    const traceId = producerSpan.spanContext().traceId;
    await suite.produce(TOPICS.usageEventsRaw, [
      {
        key: 'c-1',
        value: { specversion: '1.0', id: 'evt-1', source: 'api-gateway', type: 'api.call', subject: 'c-1', time: new Date().toISOString(), data: { calls: 9 } },
        headers: { ...traceHeaders(trace.setSpan(ROOT_CONTEXT, producerSpan)), [HEADERS.tenant]: 'acme' },
      },
      // The same event again (a producer retry): it must be counted once.
      {
        key: 'c-1',
        value: { specversion: '1.0', id: 'evt-1', source: 'api-gateway', type: 'api.call', subject: 'c-1', time: new Date().toISOString(), data: { calls: 9 } },
        headers: { [HEADERS.tenant]: 'acme' },
      },
      // Malformed: no tenant anywhere. It goes to the DLQ; the rest flows on.
      { key: 'c-2', value: { specversion: '1.0', id: 'evt-2', source: 'api-gateway', type: 'api.call', subject: 'c-2', data: { calls: 1 } } },
    ]);
    producerSpan.end();

    const alerts = await expectEventually(() => {
      const list = collector.on<{ customer: string; thresholdPercent: number; kind: string }>(TOPICS.alertsUsageThreshold);
      expect(list.map((a) => a.value.thresholdPercent).sort((a, b) => a - b)).toEqual([50, 75, 90]);
      return list;
    }, 60_000);
    expect(alerts.every((a) => a.value.kind === 'soft' && a.key === 'acme:c-1')).toBe(true);

    const usageEvents = await expectEventually(() => {
      const list = collector.on<{ tenant: string; readings: Array<{ meter: string; value: string }> }>(TOPICS.usageEvents);
      expect(list[0]).toMatchObject({ key: 'acme:c-1', value: { tenant: 'acme', readings: [{ meter: 'api-calls', value: '9' }] } });
      return list;
    });
    expect(traceIdOf(usageEvents[0])).toBe(traceId);

    // The collector reads several topics; an alert may be delivered before the aggregate that caused it.
    const aggregates = await expectEventually(() => {
      const list = collector.on<{ windowKind: string; value: string; version: number }>(TOPICS.usageAggregates);
      expect(list.map((a) => [a.value.windowKind, a.value.value, a.value.version]).sort()).toEqual([
        ['DAY', '9', 1],
        ['PERIOD', '9', 1],
      ]);
      return list;
    });
    for (const m of [...aggregates, ...alerts]) expect(traceIdOf(m)).toBe(traceId);

    const health = await expectEventually(() => {
      const list = collector.on<{ customer: string; score: number; band: string }>(TOPICS.customersHealth).filter((m) => traceIdOf(m) === traceId);
      expect(list.length).toBeGreaterThan(0);
      return list;
    });
    expect(health[0].value.customer).toBe('c-1');

    await expectEventually(() => expect(collector.on<{ reason: string }>(TOPICS.usageEventsDlq).map((m) => m.value.reason)).toEqual([expect.stringMatching(/^tenant: missing/)]));
    // Billing reads the aggregates in its own consumer group, maybe behind the others.
    const usage = await expectEventually(async () => {
      const [row] = await suite.query<{ value: string; period_end: Date }>(`SELECT value::text, period_end FROM "${suite.schema('billing')}".period_usage WHERE customer = 'c-1'`);
      expect(row?.value).toBe('9');
      return row;
    });
    await expectEventually(() => expect(thresholdAlerting.transport.isHealthy()).toBe(true));

    // The entitlement check answers from threshold-alerting's own projections, authenticated by the
    // key ingestion created (its hash reached threshold-alerting through catalog.api-keys.v1).
    const url = `${await thresholdAlerting.app.getUrl()}/api/v1/entitlements/c-1/api-calls`.replace('[::1]', '127.0.0.1');
    const check = await expectEventually(async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      return res.json();
    });
    expect(check).toMatchObject({ allowed: true, usage: '9', included: '10', remaining: '1', hardLimit: false });

    // Then the period closed (as the billing job will after period end and grace): one finalized invoice, usage priced
    // from the aggregates (9 calls, 10 included: nothing to pay), published.
    const afterGrace = new Date(usage.period_end.getTime() + 25 * 3_600_000);
    await billing.app.get(SubscriptionService).rollPeriods(afterGrace);
    await billing.app.get(InvoiceService).closePeriods(afterGrace);
    const invoice = await expectEventually(() => {
      const list = collector.on<{ customer: string; status: string; total: string }>(TOPICS.billingInvoices);
      expect(list.map((m) => m.value.status)).toEqual(['paid']);
      return list[0];
    });
    expect(invoice.value).toMatchObject({ customer: 'c-1', total: '0.00' });

    // The batch span that applied the raw event links to the producer's span (a batch has many parents).
    const batchSpans = spans.getFinishedSpans().filter((s) => s.name === `process ${TOPICS.usageEventsRaw}`);
    expect(batchSpans.flatMap((s) => s.links.map((l) => l.context.spanId))).toContain(producerSpan.spanContext().spanId);
  });
});
