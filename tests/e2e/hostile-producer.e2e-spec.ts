import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP, Kafka as CloudEventsKafka } from 'cloudevents';
import { HEADERS, TOPICS, type UsageEvent } from '@tally/contracts';
import type { DeadLetterValue } from '@tally/kafka';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, produceWithJavaClient, TestSuite, type JavaCodec, type JavaProducerRecord, type TopicCollector } from '@tally/testing';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';

const ADMIN = 'hostile-producer-admin-token';
const TENANT = 'acme';
const CODECS: JavaCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const MODES = ['structured', 'binary'] as const;
type Mode = (typeof MODES)[number];
/** The label tally_dead_letters_total gives each way a message can end in the DLQ. */
type DeadLetterKind = 'undecodable' | 'schema' | 'rejected' | 'poison';
const MAX_EVENT_BYTES = 4096;
/** Near the broker's default 1 MiB record limit, under the Java producer's max.request.size. */
const HUGE_BYTES = 1_000_000;
const DLQ_MAX_VALUE_BYTES = 256 * 1024;

interface Run {
  codec: JavaCodec;
  mode: Mode;
  /** One customer per run: its totals are exactly the run's good events. */
  customer: string;
}

interface KafkaMessage {
  value: Buffer | string | null;
  headers: Record<string, Buffer | string>;
}

/** Builds a bad message for a run: a structured event (as plain JSON) or binary-mode headers, each overridable. */
interface BadMessageContext {
  event(over?: Record<string, unknown>): Record<string, unknown>;
  binaryHeaders(over?: Record<string, Buffer | string | undefined>): Record<string, Buffer | string>;
}

interface BadKind {
  name: string;
  mode: Mode;
  kind: DeadLetterKind;
  reason: RegExp;
  message(c: BadMessageContext): KafkaMessage;
}

const tenantHeader = { [HEADERS.tenant]: TENANT };
const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** Bad messages a careless or hostile producer sends to usage.events.raw.v1, each with what it must get. */
const BAD_KINDS: BadKind[] = [
  // First, so it lands in the uncompressed run: on the wire as well it is close to the broker's limit.
  {
    name: 'a ~1 MB event near the broker limit (its dead letter is cut to fit)',
    mode: 'structured',
    kind: 'rejected',
    reason: /^\(event\): is 100\d{4} bytes; at most 4096 \(INGEST_MAX_EVENT_BYTES\)/,
    message: (c) => ({ value: JSON.stringify(c.event({ data: { calls: 1, pad: 'x'.repeat(HUGE_BYTES) } })), headers: tenantHeader }),
  },
  { name: 'invalid JSON (cut short)', mode: 'structured', kind: 'undecodable', reason: /^\(value\): has an unterminated string/, message: (c) => ({ value: JSON.stringify(c.event()).slice(0, 40), headers: tenantHeader }) },
  {
    name: 'schema-invalid (specversion 0.3, no type)',
    mode: 'structured',
    kind: 'schema',
    reason: /^schema validation failed: .*specversion: must be "1\.0".*type: Required/,
    message: (c) => ({ value: JSON.stringify({ ...c.event({ specversion: '0.3' }), type: undefined }), headers: tenantHeader }),
  },
  {
    name: 'a NUL in a data value',
    mode: 'structured',
    kind: 'undecodable',
    reason: /NUL/,
    message: (c) => ({ value: JSON.stringify(c.event({ data: { calls: 1, model: 'a\u0000b' } })), headers: tenantHeader }),
  },
  {
    name: 'an unpaired surrogate in the subject',
    mode: 'structured',
    kind: 'undecodable',
    reason: /^\/subject: contains an unpaired UTF-16 surrogate/,
    message: (c) => ({ value: JSON.stringify(c.event({ subject: 'PLACEHOLDER' })).replace('"PLACEHOLDER"', '"\\udc00"'), headers: tenantHeader }),
  },
  {
    name: 'data nested 40 levels',
    mode: 'structured',
    kind: 'undecodable',
    reason: /nests deeper than 32 levels/,
    message: (c) => ({ value: JSON.stringify(c.event()).replace(/"data":\{[^}]*\}/, `"data":${deep(40)}`), headers: tenantHeader }),
  },
  { name: 'an id of 513 bytes', mode: 'structured', kind: 'schema', reason: /id: is 513 bytes \(UTF-8\); at most 512/, message: (c) => ({ value: JSON.stringify(c.event({ id: 'i'.repeat(513) })), headers: tenantHeader }) },
  {
    name: 'an unknown tenant',
    mode: 'structured',
    kind: 'rejected',
    reason: /^tenant: unknown tenant "initech"/,
    message: (c) => ({ value: JSON.stringify(c.event()), headers: { [HEADERS.tenant]: 'initech' } }),
  },
  {
    name: 'a negative value for a meter that does not allow it',
    mode: 'structured',
    kind: 'rejected',
    reason: /does not allow negative values \(-5 at \$\.calls\)/,
    message: (c) => ({ value: JSON.stringify(c.event({ data: { calls: -5 } })), headers: tenantHeader }),
  },
  {
    name: 'an event over INGEST_MAX_EVENT_BYTES',
    mode: 'structured',
    kind: 'rejected',
    reason: /^\(event\): is \d+ bytes; at most 4096 \(INGEST_MAX_EVENT_BYTES\)/,
    message: (c) => ({ value: JSON.stringify(c.event({ data: { calls: 1, pad: 'p'.repeat(5000) } })), headers: tenantHeader }),
  },
  { name: 'an empty value', mode: 'structured', kind: 'undecodable', reason: /^empty message value/, message: () => ({ value: Buffer.alloc(0), headers: tenantHeader }) },
  {
    name: 'an integer beyond 2^53',
    mode: 'structured',
    kind: 'undecodable',
    reason: /^\/data\/calls: .*2\^53/,
    message: (c) => ({ value: JSON.stringify(c.event({ data: { calls: 7 } })).replace('"calls":7', '"calls":18446744073709551616'), headers: tenantHeader }),
  },
  { name: 'no tenant', mode: 'structured', kind: 'rejected', reason: /^tenant: missing/, message: (c) => ({ value: JSON.stringify(c.event()), headers: {} }) },
  {
    name: 'older than INGEST_MAX_LATENESS_HOURS (48 h)',
    mode: 'structured',
    kind: 'rejected',
    reason: /^time: older than the maximum lateness of 48 h/,
    message: (c) => ({ value: JSON.stringify(c.event({ time: new Date(Date.now() - 72 * 3_600_000).toISOString() })), headers: tenantHeader }),
  },
  {
    name: 'a structured event that is not UTF-8 (Latin-1)',
    mode: 'structured',
    kind: 'undecodable',
    reason: /^\(value\): is not valid UTF-8/,
    message: (c) => ({ value: Buffer.from(JSON.stringify(c.event({ data: { calls: 1, model: 'caf\u00e9' } })), 'latin1'), headers: tenantHeader }),
  },
  {
    name: 'binary: a ce_ header that is not UTF-8',
    mode: 'binary',
    kind: 'undecodable',
    reason: /^header ce_subject is not valid UTF-8/,
    message: (c) => ({ value: '{"calls":1}', headers: c.binaryHeaders({ ce_subject: Buffer.from([0x63, 0xe9, 0xff]) }) }),
  },
  {
    name: 'binary: data that is not JSON (text/plain)',
    mode: 'binary',
    kind: 'undecodable',
    reason: /^\/datacontenttype: data of content type "text\/plain" is not accepted/,
    message: (c) => ({ value: 'calls=1', headers: c.binaryHeaders({ 'content-type': 'text/plain' }) }),
  },
  { name: 'binary: data that is invalid JSON', mode: 'binary', kind: 'undecodable', reason: /^\/data/, message: (c) => ({ value: '{"calls":', headers: c.binaryHeaders() }) },
  {
    name: 'binary: no ce_specversion',
    mode: 'binary',
    kind: 'schema',
    reason: /^schema validation failed: specversion: must be "1\.0"/,
    message: (c) => ({ value: '{"calls":1}', headers: c.binaryHeaders({ ce_specversion: undefined }) }),
  },
  {
    name: 'binary: a NUL in ce_id',
    mode: 'binary',
    kind: 'schema',
    reason: /^schema validation failed: id: contains a NUL character/,
    message: (c) => ({ value: '{"calls":1}', headers: c.binaryHeaders({ ce_id: 'a\u0000b' }) }),
  },
  {
    name: 'binary: an unknown tenant in ce_tenant',
    mode: 'binary',
    kind: 'rejected',
    reason: /^tenant: unknown tenant "initech"/,
    message: (c) => ({ value: '{"calls":1}', headers: c.binaryHeaders({ ce_tenant: 'initech', [HEADERS.tenant]: undefined }) }),
  },
  {
    name: 'binary: a negative value',
    mode: 'binary',
    kind: 'rejected',
    reason: /does not allow negative values \(-2 at \$\.calls\)/,
    message: (c) => ({ value: '{"calls":-2}', headers: c.binaryHeaders() }),
  },
  {
    name: 'binary: data nested 100,000 deep',
    mode: 'binary',
    kind: 'undecodable',
    reason: /^\/data(\/0)+: nests deeper than 31 levels/,
    message: (c) => ({ value: '['.repeat(100_000), headers: c.binaryHeaders() }),
  },
];

/** Sums of tally_dead_letters_total by topic and reason, read from a service's /metrics. */
async function deadLetterCounts(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, labels, value] of text.matchAll(/^tally_dead_letters_total\{([^}]*)\} (\S+)$/gm)) {
    const topic = /topic="([^"]*)"/.exec(labels)?.[1];
    const reason = /reason="([^"]*)"/.exec(labels)?.[1];
    counts.set(`${topic} ${reason}`, (counts.get(`${topic} ${reason}`) ?? 0) + Number(value));
  }
  return counts;
}

function increase(before: Map<string, number>, after: Map<string, number>, topics: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    if (!topics.includes(key.split(' ')[0])) continue;
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/** Header values as kafkajs and the Java tool take them (the SDK hands attributes over as they are). */
const definedHeaders = (headers: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]));

/** The whole run on each Kafka client the services can consume with (KAFKA_CONSUMER_CLIENT): it takes seconds. */
const CLIENTS = ['kafkajs', 'platformatic'] as const;

/**
 * Hostile and careless producers against ingestion AND aggregation on real Kafka and Postgres. The Apache Kafka
 * Java client produces, in every codec and both CloudEvents Kafka binding modes, runs of good events with bad
 * ones between them on one key; the cloudevents SDK sends over HTTP in binary, structured and batched mode; and
 * messages that pass the usage.events.v1 schema but that Postgres refuses go straight to aggregation's topic.
 * Each bad message ends in the DLQ with its reason (or gets a precise 4xx); every good one is COUNTED exactly
 * once, as aggregation's query API reports it; readiness stays 200 throughout.
 */
describe.each(CLIENTS)('hostile producers, end to end: every codec, binding mode and bad input, counted exactly once (%s consumer)', (client) => {
  const suite = new TestSuite();
  const apps: ServiceApp[] = [];
  let ingestionBase: string;
  let aggregationBase: string;
  let key: string;
  let collector: TopicCollector;
  const tag = randomBytes(3).toString('hex');
  const startedAt = new Date();
  const readiness: Array<{ service: string; status: number; at: number }> = [];
  let readinessPoller: NodeJS.Timeout | undefined;

  const baseOf = (s: ServiceApp) => `http://127.0.0.1:${(s.app.getHttpServer().address() as AddressInfo).port}`;

  beforeAll(async () => {
    await suite.createTopics();
    const previousClient = process.env.KAFKA_CONSUMER_CLIENT;
    // The consumer client is chosen when a service is created (createConsumerClientFactory reads the env then).
    process.env.KAFKA_CONSUMER_CLIENT = client;
    try {
      const ingestion = await createServiceApp(
        ingestionService,
        suite.serviceConfig(ingestionService, {
          ADMIN_TOKEN: ADMIN,
          INGEST_MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
          INGEST_MAX_LATENESS_HOURS: '48',
          INGEST_MAX_FUTURE_SECONDS: '60',
          DLQ_MAX_VALUE_BYTES: String(DLQ_MAX_VALUE_BYTES),
        }),
      );
      await ingestion.app.listen(0, '127.0.0.1');
      apps.push(ingestion);
      const aggregation = await createServiceApp(aggregationService, suite.serviceConfig(aggregationService, { API_READ_RATE_LIMIT_PER_SECOND: '200' }));
      await aggregation.app.listen(0, '127.0.0.1');
      apps.push(aggregation);
    } finally {
      if (previousClient === undefined) delete process.env.KAFKA_CONSUMER_CLIENT;
      else process.env.KAFKA_CONSUMER_CLIENT = previousClient;
    }
    [ingestionBase, aggregationBase] = apps.map(baseOf);
    collector = await suite.collect([TOPICS.usageEventsDlq]);

    const admin = (path: string, body: unknown) =>
      fetch(`${ingestionBase}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const tenant of [TENANT, 'globex']) expect((await admin('/api/v1/admin/tenants', { id: tenant, name: tenant })).status).toBe(201);
    key = ((await (await admin(`/api/v1/admin/tenants/${TENANT}/api-keys`, { name: 'hostile' })).json()) as { key: string }).key;
    const meter = (body: unknown) =>
      fetch(`${ingestionBase}/api/v1/meters`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await meter({ slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' })).status).toBe(201);
    expect((await meter({ slug: 'requests', eventType: 'api.call', aggregation: 'COUNT' })).status).toBe(201);

    // Both consumers running, and aggregation knows the key (it came through catalog.api-keys.v1).
    await expectEventually(async () => {
      for (const base of [ingestionBase, aggregationBase]) expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      expect((await fetch(`${aggregationBase}/api/v1/meters/api-calls/query`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    }, 60_000, 250);
    readinessPoller = setInterval(() => {
      for (const [service, base] of [['ingestion', ingestionBase], ['aggregation', aggregationBase]] as const) {
        const at = Date.now();
        fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
          (res) => readiness.push({ service, status: res.status, at }),
          () => readiness.push({ service, status: 0, at }),
        );
      }
    }, 200);
  }, 120_000);

  afterAll(async () => {
    clearInterval(readinessPoller);
    for (const { app } of apps.reverse()) await app.close();
    await suite.cleanup();
  });

  it('dead-letters or refuses each bad input with its reason, counts every good event once, and stays ready', async () => {
    const t0 = Date.now();
    const metricsBefore = { ingestion: await deadLetterCounts(ingestionBase), aggregation: await deadLetterCounts(aggregationBase) };
    /** What the query API must report: per customer, the SUM of calls and the COUNT of good events. */
    const expected = new Map<string, { calls: number; events: number }>();
    const counted = (customer: string, calls: number) => {
      const e = expected.get(customer) ?? { calls: 0, events: 0 };
      expected.set(customer, { calls: e.calls + calls, events: e.events + 1 });
    };
    let n = 0;

    // 1. usage.events.raw.v1 from the Java client: per codec and binding mode, good events with bad ones between.
    const runs: Run[] = CODECS.flatMap((codec) => MODES.map((mode) => ({ codec, mode, customer: `k-${codec}-${mode}-${tag}` })));
    const badsOf = (run: Run) => {
      const sameMode = BAD_KINDS.filter((k) => k.mode === run.mode);
      const runsOfMode = runs.filter((r) => r.mode === run.mode);
      const index = runsOfMode.indexOf(run);
      return sameMode.filter((_, i) => i % runsOfMode.length === index);
    };
    const records: Array<JavaProducerRecord & { bad?: BadKind; huge?: Buffer }> = [];
    for (const run of runs) {
      const good = () => {
        n += 1;
        const calls = (n % 9) + 1;
        counted(run.customer, calls);
        const event = new CloudEvent({ id: `${run.customer}-${n}`, source: 'java-producer', type: 'api.call', subject: run.customer, datacontenttype: 'application/json', data: { calls } });
        if (run.mode === 'binary') {
          const m = CloudEventsKafka.binary(event.cloneWith({ tenant: TENANT }));
          return { codec: run.codec, key: `${TENANT}:${run.customer}`, value: JSON.stringify(m.value), headers: definedHeaders(m.headers) };
        }
        const m = CloudEventsKafka.structured(event);
        return { codec: run.codec, key: `${TENANT}:${run.customer}`, value: m.value as string, headers: { ...definedHeaders(m.headers), ...tenantHeader } };
      };
      const context: BadMessageContext = {
        event: (over = {}) => ({
          specversion: '1.0',
          id: `${run.customer}-bad-${randomBytes(4).toString('hex')}`,
          source: 'java-producer',
          type: 'api.call',
          subject: run.customer,
          time: new Date().toISOString(),
          data: { calls: 3 },
          ...over,
        }),
        binaryHeaders: (over = {}) => {
          const headers: Record<string, Buffer | string | undefined> = {
            'content-type': 'application/json',
            ce_specversion: '1.0',
            ce_id: `${run.customer}-bad-${randomBytes(4).toString('hex')}`,
            ce_source: 'java-producer',
            ce_type: 'api.call',
            ce_subject: run.customer,
            ...tenantHeader,
            ...over,
          };
          // A header set to undefined is one the producer left out.
          return Object.fromEntries(Object.entries(headers).filter((e): e is [string, Buffer | string] => e[1] !== undefined));
        },
      };
      const first = good();
      records.push(first, good(), good());
      for (const bad of badsOf(run)) {
        const m = bad.message(context);
        records.push({ codec: run.codec, key: `${TENANT}:${run.customer}`, value: m.value, headers: m.headers, bad }, good(), good(), good());
      }
      // A producer retry of the run's first event: counted once.
      records.push({ ...first });
    }
    const offsets = await produceWithJavaClient(suite.kafkaBrokers, suite.topic(TOPICS.usageEventsRaw), 0, records);
    const badOffsets = new Map(records.flatMap((r, i) => (r.bad ? [[offsets[i], { bad: r.bad, value: r.value }] as const] : [])));
    expect(badOffsets.size).toBe(BAD_KINDS.length);
    const tJava = Date.now();

    // 2. Straight to usage.events.v1 (what a producer with write access to aggregation's topic could send):
    //    events that pass its schema but that aggregation's Postgres refuses, between good ones on one key.
    const direct = `d-direct-${tag}`;
    const usageEvent = (id: string, calls: number, over: Partial<UsageEvent> = {}): UsageEvent => ({
      eventId: createHash('sha256').update(id).digest('hex').slice(0, 32),
      occurredAt: new Date().toISOString(),
      tenant: TENANT,
      id,
      source: 'direct-producer',
      type: 'api.call',
      subject: direct,
      time: new Date().toISOString(),
      data: { calls },
      readings: [
        { meter: 'api-calls', aggregation: 'SUM', value: String(calls), groupBy: {} },
        { meter: 'requests', aggregation: 'COUNT', value: null, groupBy: {} },
      ],
      ...over,
    });
    const goodDirect = () => {
      n += 1;
      const calls = (n % 9) + 1;
      counted(direct, calls);
      return { key: `${TENANT}:${direct}`, value: usageEvent(`${direct}-${n}`, calls) };
    };
    const postgresRefused = [
      // jsonb has no NUL: 22P05 "unsupported Unicode escape sequence".
      { name: 'a NUL in data (jsonb refuses it)', reason: /^handler failed 3 time\(s\): .*(unsupported Unicode escape sequence|22P05)/, value: usageEvent(`${direct}-nul`, 4, { data: { calls: 4, note: 'a\u0000b' } }) },
      // 3,200 bytes of id: over the 512 bytes ingestion accepts (INPUT_LIMITS), refused before the dedupe key.
      { name: 'an id over INPUT_LIMITS', reason: /^handler failed 3 time\(s\): usage event refused before its dedupe key: id is 3200 bytes/, value: usageEvent(randomBytes(1600).toString('hex'), 4) },
    ];
    await suite.produce(TOPICS.usageEvents, [
      goodDirect(),
      goodDirect(),
      { key: `${TENANT}:${direct}`, value: postgresRefused[0].value },
      goodDirect(),
      goodDirect(),
      { key: `${TENANT}:${direct}`, value: postgresRefused[1].value },
      goodDirect(),
      goodDirect(),
    ]);

    // 3. HTTP with the cloudevents SDK: binary, structured and batched mode; bad ones get a precise 4xx.
    const http = `h-http-${tag}`;
    const post = (body: string | Buffer | undefined, headers: Record<string, string>) =>
      fetch(`${ingestionBase}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body });
    const httpEvent = (calls: number, over: Record<string, unknown> = {}) =>
      new CloudEvent({ id: `${http}-${(n += 1)}`, source: 'http-producer', type: 'api.call', subject: http, datacontenttype: 'application/json', data: { calls }, ...over });
    const accepted = async (message: { body: unknown; headers: Record<string, unknown> }, ...events: CloudEvent[]) => {
      const res = await post(message.body as string, definedHeaders(message.headers));
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { accepted: events.length } });
      for (const e of events) counted(http, (e.data as { calls: number }).calls);
    };
    const firstBinary = httpEvent(5, { tenant: TENANT });
    await accepted(HTTP.binary(firstBinary), firstBinary);
    const structured = httpEvent(6);
    await accepted(HTTP.structured(structured), structured);
    const batch = [httpEvent(7), httpEvent(8)];
    await accepted({ body: JSON.stringify(batch), headers: { 'content-type': 'application/cloudevents-batch+json' } }, ...batch);

    const structuredHeaders = { 'content-type': 'application/cloudevents+json' };
    const plain = (over: Record<string, unknown> = {}) => ({ specversion: '1.0', id: `${http}-bad-${randomBytes(4).toString('hex')}`, source: 'http-producer', type: 'api.call', subject: http, data: { calls: 1 }, ...over });
    const binaryHeaders = (over: Record<string, string> = {}) => definedHeaders({ ...HTTP.binary(httpEvent(1)).headers, ...over });
    const httpBad: Array<[string, string | Buffer, Record<string, string>, number, string]> = [
      ['binary: data that is not JSON', 'calls=1', binaryHeaders({ 'content-type': 'text/plain' }), 415, '/datacontenttype'],
      ['binary: a ce- header that is not UTF-8', '{"calls":1}', binaryHeaders({ 'ce-subject': 'caf%E9' }), 400, '/subject'],
      ['binary: another tenant in ce-tenant', '{"calls":1}', binaryHeaders({ 'ce-tenant': 'globex' }), 400, '/tenant'],
      ['a NUL in the id', JSON.stringify(plain({ id: 'a\u0000b' })), structuredHeaders, 400, '/id'],
      ['an unpaired surrogate in the subject', JSON.stringify(plain()).replace(`"${http}"`, '"\\ud800"'), structuredHeaders, 400, '/subject'],
      ['data nested 33 levels', JSON.stringify(plain()).replace('{"calls":1}', deep(32)), structuredHeaders, 400, '/data/a/a'],
      ['an id of 513 bytes', JSON.stringify(plain({ id: 'i'.repeat(513) })), structuredHeaders, 400, '/id'],
      ['a negative value', JSON.stringify(plain({ data: { calls: -1 } })), structuredHeaders, 400, '/data'],
      ['invalid JSON', JSON.stringify(plain()).slice(0, 30), structuredHeaders, 400, ''],
      ['an event over INGEST_MAX_EVENT_BYTES', JSON.stringify(plain({ data: { calls: 1, pad: 'x'.repeat(5000) } })), structuredHeaders, 413, ''],
      // All or nothing: the good first event of the batch is not accepted either.
      ['a batch with one event nested too deep', `[${JSON.stringify(plain())},${JSON.stringify(plain()).replace('{"calls":1}', deep(32))}]`, { 'content-type': 'application/cloudevents-batch+json' }, 400, '/1/data'],
    ];
    const httpOutcomes = [];
    for (const [what, body, headers, status, pointer] of httpBad) {
      const res = await post(body, headers);
      const problem = (await res.json()) as { status: number; errors?: Array<{ pointer: string; detail: string }> };
      httpOutcomes.push({
        what,
        status: res.status,
        type: res.headers.get('content-type')?.split(';')[0],
        names: status === 413 || status === 415 || pointer === '' ? true : problem.errors?.some((e) => e.pointer.startsWith(pointer) && e.detail.length > 0),
      });
    }
    expect(httpOutcomes).toEqual(httpBad.map(([what, , , status]) => ({ what, status, type: 'application/problem+json', names: true })));
    const afterBinary = httpEvent(9, { tenant: TENANT });
    await accepted(HTTP.binary(afterBinary), afterBinary);
    const afterStructured = httpEvent(3);
    await accepted(HTTP.structured(afterStructured), afterStructured);
    // A client retry of the first event: accepted again, counted once.
    const retry = await post(HTTP.binary(firstBinary).body as string, definedHeaders(HTTP.binary(firstBinary).headers));
    expect(retry.status).toBe(202);

    // 4. Counted: aggregation's query API reports exactly the good events, per customer and meter.
    const customers = [...expected.keys()];
    const query = async (meter: string) => {
      const params = new URLSearchParams({
        subject: customers.join(','),
        from: new Date(startedAt.getTime() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const res = await fetch(`${aggregationBase}/api/v1/meters/${meter}/query?${params}`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      const { data } = (await res.json()) as { data: Array<{ subject: string; value: string }> };
      return Object.fromEntries(data.map((r) => [r.subject, r.value]));
    };
    const totals = async () => ({ 'api-calls': await query('api-calls'), requests: await query('requests') });
    const want = {
      'api-calls': Object.fromEntries([...expected].map(([c, e]) => [c, String(e.calls)])),
      requests: Object.fromEntries([...expected].map(([c, e]) => [c, String(e.events)])),
    };
    await expectEventually(async () => expect(await totals()).toEqual(want), 60_000, 500);
    const tCounted = Date.now();

    // 5. Each bad Kafka message is in the DLQ with its reason; nothing else from these partitions is.
    const letters = await expectEventually(() => {
      const list = collector.on<DeadLetterValue>(TOPICS.usageEventsDlq);
      expect(list.length).toBeGreaterThanOrEqual(BAD_KINDS.length + postgresRefused.length);
      return list.map((m) => m.value);
    }, 30_000);
    const raw = letters.filter((l) => l.source.topic === TOPICS.usageEventsRaw);
    expect(raw.map((l) => `${l.source.partition}:${l.source.offset}`).sort()).toEqual([...badOffsets.keys()].map((o) => `0:${o}`).sort());
    const reasons = raw.map((l) => ({ kind: badOffsets.get(l.source.offset)!.bad.name, reason: l.reason }));
    expect(reasons).toEqual(raw.map((l) => ({ kind: badOffsets.get(l.source.offset)!.bad.name, reason: expect.stringMatching(badOffsets.get(l.source.offset)!.bad.reason) })));
    // The huge one is cut to DLQ_MAX_VALUE_BYTES, with the size and hash of the whole.
    const [hugeOffset, huge] = [...badOffsets].find(([, b]) => b.bad === BAD_KINDS[0])!;
    const hugeLetter = raw.find((l) => l.source.offset === hugeOffset)!;
    const hugeBytes = Buffer.from(huge.value as string);
    expect(hugeBytes.length).toBeGreaterThan(HUGE_BYTES);
    expect({ truncated: hugeLetter.truncated, size: hugeLetter.valueSize, sha256: hugeLetter.valueSha256, kept: Buffer.from(hugeLetter.valueBase64 ?? '', 'base64').length }).toEqual({
      truncated: true,
      size: hugeBytes.length,
      sha256: createHash('sha256').update(hugeBytes).digest('hex'),
      kept: DLQ_MAX_VALUE_BYTES,
    });
    const refused = letters.filter((l) => l.source.topic === TOPICS.usageEvents);
    expect(refused).toHaveLength(postgresRefused.length);
    for (const p of postgresRefused) {
      const letter = refused.find((l) => l.value !== null && JSON.parse(l.value).id === p.value.id);
      expect({ what: p.name, reason: letter?.reason }).toEqual({ what: p.name, reason: expect.stringMatching(p.reason) });
    }

    // 6. The metrics say the same, per topic and reason.
    const expectedIncrease: Record<string, number> = {};
    for (const bad of BAD_KINDS) expectedIncrease[`${TOPICS.usageEventsRaw} ${bad.kind}`] = (expectedIncrease[`${TOPICS.usageEventsRaw} ${bad.kind}`] ?? 0) + 1;
    expectedIncrease[`${TOPICS.usageEvents} poison`] = postgresRefused.length;
    const rawIncrease = increase(metricsBefore.ingestion, await deadLetterCounts(ingestionBase), [TOPICS.usageEventsRaw]);
    const usageIncrease = increase(metricsBefore.aggregation, await deadLetterCounts(aggregationBase), [TOPICS.usageEvents]);
    expect({ ...rawIncrease, ...usageIncrease }).toEqual(expectedIncrease);

    // 7. Still exactly the good events once everything was handled (nothing counted twice late), and ready throughout.
    expect(await totals()).toEqual(want);
    const polled = readiness.filter((r) => r.at >= t0);
    expect(polled.filter((r) => r.service === 'ingestion').length).toBeGreaterThan(5);
    expect(polled.filter((r) => r.service === 'aggregation').length).toBeGreaterThan(5);
    expect(polled.filter((r) => r.status !== 200)).toEqual([]);
    process.stdout.write(
      `hostile producers (${client}): ${records.length} records by the Java client (${BAD_KINDS.length} bad) in ${tJava - t0} ms; ` +
        `all counted ${tCounted - t0} ms after the first send; ${polled.length} readiness polls, all 200\n`,
    );
  });
});
