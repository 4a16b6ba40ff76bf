import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { HEADERS, TOPICS } from '@tally/contracts';
import { expectEventually, TestSuite, type CollectedMessage } from '@tally/testing';
import { freePort, isReady, postJson } from '../../bench/local-http';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'telemetry-admin-token-0123456789';
const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'] as const;

/** A span as the OTLP/HTTP JSON exporter sends it, with the exporting service's name. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  links: Array<{ traceId: string; spanId: string }>;
  attributes: Record<string, unknown>;
}

const SPAN_KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

/** OTLP JSON ids are hex (the OTLP/HTTP JSON mapping); base64 is accepted too, should an exporter send that. */
const hexId = (id: unknown): string => {
  if (typeof id !== 'string' || id === '') return '';
  return /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
};

const attributeValue = (v: Record<string, unknown> | undefined): unknown => (v ? Object.values(v)[0] : undefined);

/**
 * The OTLP/HTTP receiver a collector would be: POST /v1/traces with an ExportTraceServiceRequest as JSON
 * (what @opentelemetry/exporter-trace-otlp-http sends: Content-Type application/json). Anything else is
 * refused with 415, so a change of encoding fails the test instead of losing spans silently.
 */
class OtlpReceiver {
  readonly spans: ExportedSpan[] = [];
  readonly refused: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        this.refused.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(415).end();
        return;
      }
      this.accept(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(body: { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: Record<string, unknown> }> }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }> }): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attributeValue(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value) ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: String(s.name),
            kind: Number(s.kind),
            links: ((s.links as Array<{ traceId: string; spanId: string }>) ?? []).map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId) })),
            attributes: Object.fromEntries(((s.attributes as Array<{ key: string; value: Record<string, unknown> }>) ?? []).map((a) => [a.key, attributeValue(a.value)])),
          });
        }
      }
    }
  }

  inTrace(traceId: string): ExportedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Spans of other traces that link to a span of `traceId` (a consumed batch links to each message's producer). */
  linkingTo(traceId: string): ExportedSpan[] {
    return this.spans.filter((s) => s.links.some((l) => l.traceId === traceId));
  }
}

/** A pg instrumentation span (the attribute's name differs between the old and the stable semantic conventions). */
const isPostgres = (s: ExportedSpan) => (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'postgresql';

const traceIdOf = (m: CollectedMessage) => m.headers.traceparent?.split('-')[1];

/**
 * Telemetry end to end: the five services and the gateway run as processes (`node -r tools/register.js
 * apps/<service>/src/main.ts`, as `npm start` runs them) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver
 * in this test. One event
 * ingested over HTTP and one produced to Kafka by a "product service" are each followed, by the spans the
 * services exported, to the threshold alert, the health score and the invoice: the same trace id where the path
 * is one message after another, a span link where a consumed batch (many parents) takes the event in, and
 * where billing's job closes the period (linked to the traces its usage carried, continuing the newest).
 */
describe('telemetry: HTTP- and Kafka-ingested events traced to the alert, the health score and the invoice', () => {
  const suite = new TestSuite();
  const receiver = new OtlpReceiver();
  const children: ChildProcess[] = [];
  const ports = new Map<string, number>();

  const start = async (service: string, endpoint: string): Promise<void> => {
    const port = await freePort();
    ports.set(service, port);
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps', service, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: suite.databaseUrl,
        KAFKA_BROKERS: suite.kafkaBrokers,
        DB_SCHEMA: suite.schema(service),
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: '2',
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        ADMIN_TOKEN: ADMIN,
        LOG_LEVEL: 'error',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        HEALTH_RESCORE_DEBOUNCE_MS: '0',
        HEALTH_RESCORE_INTERVAL_MS: '300',
        // Billing closes a period (here: ended by a cancel) on its next job run and finalizes it at once.
        BILLING_GRACE_PERIOD_HOURS: '0',
        BILLING_JOB_INTERVAL_MS: '300',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    await expectEventually(async () => {
      expect(child.exitCode).toBeNull();
      expect(await isReady(port)).toBe(true);
    }, 120_000);
  };

  beforeAll(async () => {
    await suite.createTopics();
    const endpoint = await receiver.listen();
    await Promise.all(SERVICES.map((s) => start(s, endpoint)));
    // The front door, in front of them: the HTTP event goes through it.
    const gatewayPort = await freePort();
    ports.set('gateway', gatewayPort);
    const upstreams = Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase().replace(/-/g, '_')}_URL`, `http://127.0.0.1:${ports.get(s)}`]));
    const gateway = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps/gateway/src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...upstreams, GATEWAY_PORT: String(gatewayPort), LOG_LEVEL: 'error', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(gateway);
    await expectEventually(async () => {
      expect(gateway.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${gatewayPort}/health`).catch(() => null))?.status).toBe(200);
    }, 60_000);
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && !c.signalCode) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode ? r(null) : c.once('exit', r)))));
    await receiver.close();
    await suite.cleanup();
  }, 120_000);

  it('follows each event by trace id and span links from its producer to the alert, the health score and the invoice', async () => {
    const port = (s: string) => ports.get(s)!;
    await postJson(port('ingestion'), '/api/v1/admin/tenants', ADMIN, { id: 'acme', name: 'Acme' });
    const { key } = (await postJson(port('ingestion'), '/api/v1/admin/tenants/acme/api-keys', ADMIN, { name: 'telemetry' })) as { key: string };
    await postJson(port('ingestion'), '/api/v1/meters', key, { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    await expectEventually(async () => {
      await postJson(port('billing'), '/api/v1/plans', key, {
        code: 'traced', name: 'Traced', interval: 'monthly', currency: 'EUR', baseFee: '0',
        charges: [{ meter: 'calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '10', thresholds: [50, 90], hardLimit: false }],
      });
    }, 60_000);
    // One customer per path: a health score is published only when it moves, and each path's first usage moves it.
    for (const c of ['c-http', 'c-kafka']) {
      await postJson(port('billing'), '/api/v1/customers', key, { id: c, name: c, currency: 'EUR' });
      await postJson(port('billing'), '/api/v1/subscriptions', key, { id: `sub-${c}`, customer: c, plan: 'traced' });
    }
    await expectEventually(async () => expect(await suite.query(`SELECT 1 FROM "${suite.schema('threshold-alerting')}".entitlements`)).toHaveLength(2), 60_000);
    // The first scores (from the subscriptions) are out before the usage arrives, so the next ones come from the usage.
    const scored = `SELECT 1 FROM "${suite.schema('health-scoring')}".customer_health WHERE scored_at IS NOT NULL`;
    await expectEventually(async () => expect(await suite.query(scored)).toHaveLength(2), 60_000);
    const collector = await suite.collect([TOPICS.usageEvents, TOPICS.usageAggregates, TOPICS.alertsUsageThreshold, TOPICS.customersHealth, TOPICS.billingInvoices]);

    // 1. Over HTTP through the front door, with the caller's trace context (as an instrumented client sends it):
    //    6 of 10 calls, 50 % crossed.
    const httpTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const res = await fetch(`http://127.0.0.1:${port('gateway')}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json', traceparent: `00-${httpTrace}-${callerSpan}-01` },
      body: JSON.stringify({ specversion: '1.0', id: 'evt-http', source: 'telemetry-e2e', type: 'api.call', subject: 'c-http', time: new Date().toISOString(), data: { calls: 6 } }),
    });
    expect(res.status).toBe(202);
    const httpAlert = await expectEventually(() => {
      const alert = collector.on<{ threshold: string; customer: string }>(TOPICS.alertsUsageThreshold).find((m) => m.value.customer === 'c-http');
      expect(alert).toBeDefined();
      return alert!;
    }, 60_000);
    await expectEventually(() => expect(collector.on<{ customer: string }>(TOPICS.customersHealth).filter((m) => traceIdOf(m) === httpTrace).map((m) => m.value.customer)).toContain('c-http'), 60_000);

    // 2. Produced to Kafka by a product service, its own trace in the headers: the other customer, 50 % crossed.
    const kafkaTrace = randomBytes(16).toString('hex');
    const productSpan = randomBytes(8).toString('hex');
    await suite.produce(TOPICS.usageEventsRaw, [
      {
        key: 'c-kafka',
        value: { specversion: '1.0', id: 'evt-kafka', source: 'telemetry-e2e', type: 'api.call', subject: 'c-kafka', time: new Date().toISOString(), data: { calls: 6 } },
        headers: { traceparent: `00-${kafkaTrace}-${productSpan}-01`, [HEADERS.tenant]: 'acme' },
      },
    ]);
    const kafkaAlert = await expectEventually(() => {
      const alert = collector.on<{ threshold: string; customer: string }>(TOPICS.alertsUsageThreshold).find((m) => m.value.customer === 'c-kafka');
      expect(alert).toBeDefined();
      return alert!;
    }, 60_000);
    await expectEventually(() => expect(collector.on<{ customer: string }>(TOPICS.customersHealth).filter((m) => traceIdOf(m) === kafkaTrace).map((m) => m.value.customer)).toContain('c-kafka'), 60_000);

    // 3. The invoice: once billing holds both events' usage with their trace contexts, both subscriptions are canceled
    //    now, which ends their periods; billing's next job run closes and finalizes them (grace period 0).
    await expectEventually(async () => {
      const rows: Array<{ customer: string; traces: Array<{ traceparent: string }> }> = await suite.query(
        `SELECT customer, traces FROM "${suite.schema('billing')}".period_usage WHERE meter = 'calls' AND traces IS NOT NULL`,
      );
      const traced = (customer: string) => rows.filter((r) => r.customer === customer).flatMap((r) => r.traces.map((t) => t.traceparent.split('-')[1]));
      expect(traced('c-http')).toContain(httpTrace);
      expect(traced('c-kafka')).toContain(kafkaTrace);
    }, 60_000);
    for (const c of ['c-http', 'c-kafka']) await postJson(port('billing'), `/api/v1/subscriptions/sub-${c}/cancel`, key, { atPeriodEnd: false });
    const invoiceOf = (customer: string) =>
      expectEventually(() => {
        const invoice = collector.on<{ customer: string; status: string }>(TOPICS.billingInvoices).find((m) => m.value.customer === customer && m.value.status !== 'draft');
        expect(invoice).toBeDefined();
        return invoice!;
      }, 60_000);
    const invoices = { HTTP: await invoiceOf('c-http'), Kafka: await invoiceOf('c-kafka') };

    // The messages themselves carry each event's trace all the way.
    expect(traceIdOf(httpAlert)).toBe(httpTrace);
    expect(traceIdOf(kafkaAlert)).toBe(kafkaTrace);
    for (const [traceId, eventId] of [[httpTrace, 'evt-http'], [kafkaTrace, 'evt-kafka']]) {
      const usage = collector.on<{ id: string }>(TOPICS.usageEvents).filter((m) => m.value.id === eventId);
      expect(usage.map(traceIdOf)).toEqual([traceId]);
    }

    // And the exported spans tell the same story. HTTP path: caller -> gateway server span -> gateway client span
    // (the proxied request) -> ingestion's server span.
    await expectEventually(() => {
      const spans = receiver.inTrace(httpTrace);
      const gatewayServer = spans.find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.SERVER);
      expect(gatewayServer).toMatchObject({ parentSpanId: callerSpan });
      const gatewayClient = spans.find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.CLIENT);
      expect(gatewayClient).toMatchObject({ parentSpanId: gatewayServer!.spanId });
      const server = spans.find((s) => s.service === 'ingestion' && s.kind === SPAN_KIND.SERVER);
      expect(server).toMatchObject({ parentSpanId: gatewayClient!.spanId });
    }, 30_000);

    for (const [traceId, origin] of [[httpTrace, 'HTTP'], [kafkaTrace, 'Kafka']] as const) {
      await expectEventually(() => {
        const spans = receiver.inTrace(traceId);
        const names = (service: string) => spans.filter((s) => s.service === service).map((s) => s.name);
        // Derived events continue the trace: aggregates from aggregation, the alert from threshold-alerting,
        // each sent by its service's outbox relay with the context stored in the outbox row.
        expect(names('aggregation')).toEqual(expect.arrayContaining([`produce ${TOPICS.usageAggregates}`, expect.stringMatching(new RegExp(`^send .*${TOPICS.usageAggregates}$`))]));
        expect(names('threshold-alerting')).toEqual(
          expect.arrayContaining([`produce ${TOPICS.alertsUsageThreshold}`, expect.stringMatching(new RegExp(`^send .*${TOPICS.alertsUsageThreshold}$`))]),
        );
        expect(names('health-scoring')).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^send .*${TOPICS.customersHealth}$`))]));
        // Each relay's send span is a child of the span that wrote the row (restored, not a new trace).
        for (const send of spans.filter((s) => s.name.startsWith('send '))) {
          expect(send.kind).toBe(SPAN_KIND.PRODUCER);
          expect(spans.map((s) => s.spanId)).toContain(send.parentSpanId);
        }

        // Consumed batches link to the event's spans: aggregation (usage), threshold-alerting and billing (aggregates).
        const linking = receiver.linkingTo(traceId);
        const consumer = (service: string, topic: string) => linking.filter((s) => s.service === service && s.kind === SPAN_KIND.CONSUMER && s.name === `process ${topic}`);
        expect(consumer('aggregation', TOPICS.usageEvents)).not.toHaveLength(0);
        expect(consumer('threshold-alerting', TOPICS.usageAggregates)).not.toHaveLength(0);
        expect(consumer('billing', TOPICS.usageAggregates)).not.toHaveLength(0);
        expect(consumer('health-scoring', TOPICS.usageAggregates)).not.toHaveLength(0);
        // The links point at spans of the trace that were exported, not at ids nobody knows.
        const known = new Set(spans.map((s) => s.spanId).concat(origin === 'HTTP' ? [callerSpan] : [productSpan]));
        for (const s of linking) for (const l of s.links.filter((x) => x.traceId === traceId)) expect(known).toContain(l.spanId);
        // The batch that took the event in did its Postgres work inside its own span.
        const batch = consumer('aggregation', TOPICS.usageEvents)[0];
        expect(receiver.spans.some((s) => s.parentSpanId === batch.spanId && isPostgres(s))).toBe(true);
        if (origin === 'Kafka') expect(receiver.linkingTo(traceId).some((s) => s.service === 'ingestion' && s.name === `process ${TOPICS.usageEventsRaw}`)).toBe(true);

        // The invoice: billing's close of the period links to the event's trace (the aggregate that brought its
        // usage) and continues the newest context the period's usage kept (the event's, or a later aggregate's
        // when the cancel moved the period's end first); the invoice message is sent in the close's trace.
        const invoiceTrace = traceIdOf(invoices[origin]);
        const close = linking.find((s) => s.service === 'billing' && s.name === 'billing close-period' && s.traceId === invoiceTrace);
        expect(close).toBeDefined();
        const invoiceSpans = receiver.inTrace(invoiceTrace!);
        expect(invoiceSpans.map((s) => s.spanId)).toContain(close!.parentSpanId);
        const sendInvoice = invoiceSpans.find((s) => s.service === 'billing' && new RegExp(`^send .*${TOPICS.billingInvoices}$`).test(s.name));
        // The close wrote the outbox row (the relay's send restores its context) and did its Postgres work in its span.
        expect(sendInvoice).toMatchObject({ kind: SPAN_KIND.PRODUCER, parentSpanId: close!.spanId });
        expect(invoiceSpans.some((s) => isPostgres(s) && s.parentSpanId === close!.spanId)).toBe(true);
      }, 30_000).catch((e) => {
        // What was exported for the trace, to see which hop is missing.
        process.stderr.write(`${origin} trace ${traceId}:\n${receiver.inTrace(traceId).map((s) => `  ${s.service} ${s.name} kind=${s.kind} parent=${s.parentSpanId}`).join('\n')}\n`);
        throw e;
      });
    }
    expect(receiver.refused).toEqual([]);
    // Probes are polled all the time and must not become traces.
    expect(receiver.spans.filter((s) => s.kind === SPAN_KIND.SERVER && String(s.attributes['http.target'] ?? s.attributes['url.path'] ?? '').startsWith('/health'))).toEqual([]);
  }, 300_000);
});
