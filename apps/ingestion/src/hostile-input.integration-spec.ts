import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP, Kafka as CloudEventsKafka } from 'cloudevents';
import type { IHeaders } from 'kafkajs';
import { HEADERS, TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { ingestionService } from './ingestion.service';

const ADMIN = 'hostile-input-admin-token';
type Published = { id: string; tenant: string; subject: string; readings: Array<{ meter: string; value: string | null; groupBy: Record<string, string> }> };
type DeadLetter = { reason: string; source: { partition: number; offset: string } };

/**
 * Hostile and careless producers against the real service, Kafka and Postgres: every CloudEvents binding
 * mode the `cloudevents` SDK emits is accepted and counted; every bad input gets a precise 4xx over HTTP or
 * a dead letter with its reason over Kafka, while the good events around it on the same partition are
 * published once.
 */
describe('ingestion front doors: binding modes and input limits (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let collector: TopicCollector;
  let key: string;
  const run = Math.random().toString(36).slice(2, 8);
  const id = (name: string) => `${name}-${run}`;

  const post = (body: string | Buffer | undefined, headers: Record<string, string>) =>
    fetch(`${base}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body });
  const event = (over: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: id(`e${Math.random().toString(36).slice(2)}`),
    source: 'api-gateway',
    type: 'api.call',
    subject: 'customer-1',
    time: new Date().toISOString(),
    data: { calls: 2, model: 'small' },
    ...over,
  });
  const published = () => collector.on<Published>(TOPICS.usageEvents);
  const publishedOnce = async (ids: string[]) =>
    expectEventually(() => {
      const seen = published().filter((m) => ids.includes(m.value.id));
      expect(seen.map((m) => m.value.id).sort()).toEqual([...ids].sort());
      return seen;
    });

  beforeAll(async () => {
    await suite.createTopics();
    service = await createServiceApp(
      ingestionService,
      suite.serviceConfig(ingestionService, {
        ADMIN_TOKEN: ADMIN,
        INGEST_MAX_EVENT_BYTES: '4096',
        INGEST_MAX_LATENESS_HOURS: '48',
        INGEST_MAX_FUTURE_SECONDS: '60',
      }),
    );
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    collector = await suite.collect([TOPICS.usageEvents, TOPICS.usageEventsDlq, TOPICS.catalogMeters]);
    const admin = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const tenant of ['acme', 'globex']) expect((await admin('/api/v1/admin/tenants', { id: tenant, name: tenant })).status).toBe(201);
    key = ((await (await admin('/api/v1/admin/tenants/acme/api-keys', { name: 'test' })).json()) as { key: string }).key;
    const meter = (body: unknown) => fetch(`${base}/api/v1/meters`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await meter({ slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls', groupBy: { model: '$.model' } })).status).toBe(201);
    expect((await meter({ slug: 'credits', eventType: 'credit.adjusted', aggregation: 'SUM', valueProperty: '$.amount', allowNegative: true })).status).toBe(201);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  describe('negative values: a per-meter policy', () => {
    it('validates allowNegative on creation and carries it on catalog.meters.v1', async () => {
      const res = await fetch(`${base}/api/v1/meters`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ slug: 'requests', eventType: 'api.call', aggregation: 'COUNT', allowNegative: true }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer)).toEqual(['/allowNegative']);
      const meters = await expectEventually(() => {
        const list = collector.on<{ slug: string; allowNegative: boolean }>(TOPICS.catalogMeters);
        expect(list).toHaveLength(2);
        return list;
      });
      expect(Object.fromEntries(meters.map((m) => [m.value.slug, m.value.allowNegative]))).toEqual({ 'api-calls': false, credits: true });
    });

    it('refuses a negative value for a meter that does not allow it, and counts it for one that does', async () => {
      const refused = await post(JSON.stringify(event({ data: { calls: -3 } })), { 'content-type': 'application/cloudevents+json' });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ errors: [{ pointer: '/data', detail: expect.stringMatching(/does not allow negative values \(-3 at \$\.calls\)/) }] });
      const credit = event({ id: id('credit'), type: 'credit.adjusted', data: { amount: '-5.25' } });
      expect((await post(JSON.stringify(credit), { 'content-type': 'application/cloudevents+json' })).status).toBe(202);
      const [m] = await publishedOnce([credit.id as string]);
      expect(m.value.readings).toEqual([{ meter: 'credits', aggregation: 'SUM', value: '-5.25', groupBy: {} }]);
    });
  });

  describe('HTTP binding modes, emitted by the cloudevents SDK', () => {
    it('accepts binary, structured and batched mode and publishes each event with its readings', async () => {
      const binary = HTTP.binary(new CloudEvent({ ...event({ id: id('http-binary'), data: { calls: 7, model: 'large' } }), tenant: 'acme' }));
      const structured = HTTP.structured(new CloudEvent(event({ id: id('http-structured'), data: { calls: 3, model: 'small' } })));
      for (const message of [binary, structured]) {
        const res = await post(message.body as string, message.headers as Record<string, string>);
        expect(res.status).toBe(202);
      }
      const batch = [event({ id: id('http-batch-1') }), event({ id: id('http-batch-2'), data: { calls: '12345678901234567890.5' } })];
      expect((await post(JSON.stringify(batch), { 'content-type': 'application/cloudevents-batch+json' })).status).toBe(202);
      // Binary mode without a body: an event only a COUNT meter (none here) would read; no readings of a SUM.
      const seen = await publishedOnce([id('http-binary'), id('http-structured'), id('http-batch-1'), id('http-batch-2')]);
      const readings = Object.fromEntries(seen.map((m) => [m.value.id, m.value.readings.map((r) => [r.value, r.groupBy])]));
      expect(readings).toEqual({
        [id('http-binary')]: [['7', { model: 'large' }]],
        [id('http-structured')]: [['3', { model: 'small' }]],
        [id('http-batch-1')]: [['2', { model: 'small' }]],
        [id('http-batch-2')]: [['12345678901234567890.5', {}]],
      });
      expect(seen.every((m) => m.value.tenant === 'acme' && m.key === 'acme:customer-1')).toBe(true);
    });

    it('reads percent-encoded and raw UTF-8 ce- header values', async () => {
      const raw = Buffer.from('café-1').toString('latin1');
      const res = await post('{"calls":1}', { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': id('utf8-header'), 'ce-source': 's', 'ce-type': 'api.call', 'ce-subject': raw });
      expect(res.status).toBe(202);
      const res2 = await post('{"calls":1}', { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': id('pct-header'), 'ce-source': 's', 'ce-type': 'api.call', 'ce-subject': 'caf%C3%A9-2' });
      expect(res2.status).toBe(202);
      const seen = await publishedOnce([id('utf8-header'), id('pct-header')]);
      expect(seen.map((m) => m.value.subject).sort()).toEqual(['café-1', 'café-2']);
    });
  });

  describe('HTTP refuses each bad input with a precise problem naming the field', () => {
    const binaryHeaders = (over: Record<string, string> = {}) => ({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': id('bad-binary'),
      'ce-source': 's',
      'ce-type': 'api.call',
      'ce-subject': 'customer-1',
      ...over,
    });
    const structured = { 'content-type': 'application/cloudevents+json' };
    const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    it.each<[string, string | Buffer, Record<string, string>, number, string]>([
      ['binary: data that is not JSON', 'calls=1', binaryHeaders({ 'content-type': 'text/plain' }), 415, '/datacontenttype'],
      ['binary: data of an unknown type', Buffer.from([0, 1, 2]), binaryHeaders({ 'content-type': 'application/octet-stream' }), 415, '/datacontenttype'],
      ['binary: a ce- header that is not UTF-8', '{"calls":1}', binaryHeaders({ 'ce-subject': 'caf%E9' }), 400, '/subject'],
      ['binary: a raw Latin-1 ce- header', '{"calls":1}', binaryHeaders({ 'ce-subject': 'caf\u00e9' }), 400, '/subject'],
      ['binary: data that is an array', '[1]', binaryHeaders(), 400, '/data'],
      ['binary: data not valid JSON', '{"calls":', binaryHeaders(), 400, '/data'],
      ['binary: no ce-id', '{"calls":1}', binaryHeaders({ 'ce-id': '' }), 400, '/id'],
      ['binary: another tenant in ce-tenant', '{"calls":1}', binaryHeaders({ 'ce-tenant': 'globex' }), 400, '/tenant'],
      ['binary: a NUL in ce-id (percent-encoded)', '{"calls":1}', binaryHeaders({ 'ce-id': 'a%00b' }), 400, '/id'],
      ['a 100,000-deep array', '['.repeat(100_000) + ']'.repeat(100_000), structured, 400, '/0/0/0'],
      ['a 100,000-deep array, unclosed', '['.repeat(100_000), { 'content-type': 'application/json' }, 400, '/0/0/0'],
      ['an event nested 33 levels', `{"specversion":"1.0","data":${deep(32)}}`, structured, 400, '/data/a/a'],
      ['a body that is not UTF-8', Buffer.from(JSON.stringify(event({ subject: 'caf\u00e9' })), 'latin1'), structured, 400, ''],
      ['a charset other than UTF-8', JSON.stringify(event()), { 'content-type': 'application/cloudevents+json; charset=utf-16' }, 415, ''],
      ['a duplicate member name', '{"id":"a","id":"b"}', structured, 400, '/id'],
      ['a NUL in a data value', JSON.stringify(event({ data: { calls: 1, model: 'a\u0000' } })), structured, 400, '/data/model'],
      ['a NUL in the id', JSON.stringify(event({ id: 'a\u0000b' })), structured, 400, '/id'],
      ['an unpaired surrogate in the subject', JSON.stringify(event()).replace('"customer-1"', '"\\ud800"'), structured, 400, '/subject'],
      ['an unpaired surrogate in a data key', JSON.stringify(event()).replace('"model"', '"\\udfff"'), structured, 400, '/data/\udfff'],
      ['an integer beyond 2^53', JSON.stringify(event()).replace('"calls":2', '"calls":9007199254740993'), structured, 400, '/data/calls'],
      ['a fraction beyond a double', JSON.stringify(event()).replace('"calls":2', '"calls":0.1000000000000000055511151231257827'), structured, 400, '/data/calls'],
      ['a number beyond a double', JSON.stringify(event()).replace('"calls":2', '"calls":1e400'), structured, 400, '/data/calls'],
      ['an id of 513 bytes', JSON.stringify(event({ id: 'i'.repeat(513) })), structured, 400, '/id'],
      ['a source of 513 bytes', JSON.stringify(event({ source: 's'.repeat(513) })), structured, 400, '/source'],
      ['a type of 257 bytes', JSON.stringify(event({ type: 't'.repeat(257) })), structured, 400, '/type'],
      ['a subject of 257 bytes (129 two-byte characters)', JSON.stringify(event({ subject: 'é'.repeat(129) })), structured, 400, '/subject'],
      ['a group-by value of 257 bytes', JSON.stringify(event({ data: { calls: 1, model: 'm'.repeat(257) } })), structured, 400, '/data'],
      ['a group-by value that is an object', JSON.stringify(event({ data: { calls: 1, model: { name: 'x' } } })), structured, 400, '/data'],
      ['a decimal string of 41 digits', JSON.stringify(event({ data: { calls: '1'.repeat(41) } })), structured, 400, '/data'],
      ['a batch with one event nested too deep', `[${JSON.stringify(event())},{"data":${deep(32)}}]`, { 'content-type': 'application/cloudevents-batch+json' }, 400, '/1/data'],
      ['an event over INGEST_MAX_EVENT_BYTES', JSON.stringify(event({ data: { calls: 1, pad: 'x'.repeat(5000) } })), structured, 413, ''],
    ])('%s', async (_what, body, headers, status, pointer) => {
      const res = await post(body, headers);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as { status: number; detail: string; errors?: Array<{ pointer: string; detail: string }> };
      expect(problem.status).toBe(status);
      expect(problem.detail).toEqual(expect.any(String));
      if (status !== 415 && status !== 413) expect(problem.errors?.some((e) => e.pointer.startsWith(pointer) && e.detail.length > 0)).toBe(true);
    });
  });

  describe('Kafka usage.events.raw.v1', () => {
    const good = (name: string, over: Record<string, unknown> = {}) => ({
      value: JSON.stringify(event({ id: id(name), ...over })),
      headers: { [HEADERS.tenant]: 'acme' } as IHeaders,
    });
    const structuredBad = (over: Record<string, unknown>, headers: IHeaders = { [HEADERS.tenant]: 'acme' }) => ({ value: JSON.stringify(event(over)), headers });
    const binaryHeaders = (over: IHeaders = {}): IHeaders => {
      const headers: IHeaders = {
        'content-type': 'application/json',
        ce_specversion: '1.0',
        ce_id: id(`bin-${Math.random().toString(36).slice(2)}`),
        ce_source: 's',
        ce_type: 'api.call',
        ce_subject: 'customer-1',
        [HEADERS.tenant]: 'acme',
        ...over,
      };
      // A header set to undefined is one the producer left out.
      return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
    };
    /** [kind, the bad message, the dead letter's reason] */
    const kinds: Array<[string, { value: string | Buffer | null; headers: IHeaders }, RegExp]> = [
      ['binary: data that is not JSON', { value: 'calls=1', headers: binaryHeaders({ 'content-type': 'text/plain' }) }, /^\/datacontenttype: data of content type "text\/plain" is not accepted/],
      ['binary: a ce_ header that is not UTF-8', { value: '{"calls":1}', headers: binaryHeaders({ ce_subject: Buffer.from([0x63, 0xe9, 0xff]) }) }, /^header ce_subject is not valid UTF-8/],
      ['binary: data that is not UTF-8', { value: Buffer.from('{"calls":1,"model":"caf\u00e9"}', 'latin1'), headers: binaryHeaders() }, /^\/data: is not valid UTF-8/],
      ['binary: data that is an array', { value: '[1]', headers: binaryHeaders() }, /^\/data: must be a JSON object/],
      ['binary: no ce_specversion', { value: '{"calls":1}', headers: binaryHeaders({ ce_specversion: undefined }) }, /specversion: must be "1\.0"/],
      ['binary: data nested 100,000 deep', { value: '['.repeat(100_000), headers: binaryHeaders() }, /^\/data(\/0)+: nests deeper than 31 levels/],
      ['batched mode', { value: '[]', headers: { 'content-type': 'application/cloudevents-batch+json', [HEADERS.tenant]: 'acme' } }, /batched mode is not defined for Kafka/],
      ['an XML event format', { value: '<e/>', headers: { 'content-type': 'application/cloudevents+xml', [HEADERS.tenant]: 'acme' } }, /only the JSON event format/],
      ['a charset other than UTF-8', { value: '{}', headers: { 'content-type': 'application/cloudevents+json; charset=utf-16', [HEADERS.tenant]: 'acme' } }, /charset "utf-16" is not supported/],
      ['an empty value', { value: null, headers: { [HEADERS.tenant]: 'acme' } }, /^empty message value/],
      ['a structured event that is not UTF-8', { value: Buffer.from(JSON.stringify(event({ subject: 'caf\u00e9' })), 'latin1'), headers: { [HEADERS.tenant]: 'acme' } }, /^\(value\): is not valid UTF-8/],
      ['a structured event 100,000 deep', { value: '['.repeat(100_000) + ']'.repeat(100_000), headers: { [HEADERS.tenant]: 'acme' } }, /nests deeper than 32 levels/],
      ['a duplicate id', { value: '{"id":"a","id":"b"}', headers: { [HEADERS.tenant]: 'acme' } }, /^\/id: is a duplicate member name/],
      ['a NUL in a data key', { value: JSON.stringify(event({ data: { calls: 1, 'm\u0000': 1 } })), headers: { [HEADERS.tenant]: 'acme' } }, /the member name contains a NUL/],
      ['an unpaired surrogate in the subject', { value: JSON.stringify(event()).replace('"customer-1"', '"\\udc00"'), headers: { [HEADERS.tenant]: 'acme' } }, /^\/subject: contains an unpaired UTF-16 surrogate/],
      ['an integer beyond 2^53', { value: JSON.stringify(event()).replace('"calls":2', '"calls":18446744073709551616'), headers: { [HEADERS.tenant]: 'acme' } }, /^\/data\/calls: .*2\^53/],
      ['an id of 513 bytes', structuredBad({ id: 'i'.repeat(513) }), /id: is 513 bytes \(UTF-8\); at most 512/],
      ['a subject of 257 bytes', structuredBad({ subject: 's'.repeat(257) }), /subject: is 257 bytes/],
      ['a group-by value of 257 bytes', structuredBad({ data: { calls: 1, model: 'm'.repeat(257) } }), /groups by "model": the value at \$\.model is 257 bytes/],
      ['a negative value', structuredBad({ data: { calls: -1 } }), /does not allow negative values \(-1 at \$\.calls\)/],
      ['an unknown tenant', structuredBad({}, { [HEADERS.tenant]: 'initech' }), /^tenant: unknown tenant "initech"/],
      ['a tenant header and attribute that differ', structuredBad({ tenant: 'globex' }), /^tenant: the tally-tenant header \("acme"\) and the tenant attribute \("globex"\) differ/],
      ['no tenant', structuredBad({}, {}), /^tenant: missing/],
      ['older than INGEST_MAX_LATENESS_HOURS (48 h, not the 744 h default)', structuredBad({ time: new Date(Date.now() - 72 * 3_600_000).toISOString() }), /^time: older than the maximum lateness of 48 h/],
      ['further ahead than INGEST_MAX_FUTURE_SECONDS (60 s, not the 300 s default)', structuredBad({ time: new Date(Date.now() + 120_000).toISOString() }), /^time: more than 1 min in the future/],
      ['over INGEST_MAX_EVENT_BYTES', structuredBad({ data: { calls: 1, pad: 'x'.repeat(5000) } }), /^\(event\): is \d+ bytes; at most 4096 \(INGEST_MAX_EVENT_BYTES\)/],
    ];

    it('publishes what the SDK emits in binary and structured mode (Kafka binding), counted with its readings', async () => {
      const binary = CloudEventsKafka.binary(new CloudEvent({ ...event({ id: id('kafka-binary'), data: { calls: 4, model: 'large' } }), tenant: 'acme' }));
      const structured = CloudEventsKafka.structured(new CloudEvent(event({ id: id('kafka-structured'), data: { calls: 6, model: 'small' } })));
      const producer = suite.kafka.producer();
      await producer.connect();
      try {
        await producer.send({
          topic: suite.topic(TOPICS.usageEventsRaw),
          messages: [
            // The SDK leaves serialization to the client: headers become strings, object data JSON.
            { key: 'customer-1', value: JSON.stringify(binary.value), headers: stringHeaders(binary.headers) },
            { key: 'customer-1', value: structured.value as string, headers: { ...stringHeaders(structured.headers), [HEADERS.tenant]: 'acme' } },
          ],
        });
      } finally {
        await producer.disconnect();
      }
      const seen = await publishedOnce([id('kafka-binary'), id('kafka-structured')]);
      expect(Object.fromEntries(seen.map((m) => [m.value.id, m.value.readings]))).toEqual({
        [id('kafka-binary')]: [{ meter: 'api-calls', aggregation: 'SUM', value: '4', groupBy: { model: 'large' } }],
        [id('kafka-structured')]: [{ meter: 'api-calls', aggregation: 'SUM', value: '6', groupBy: { model: 'small' } }],
      });
    });

    it(`dead-letters each of ${kinds.length} bad kinds with its reason; the good events around each, on the same partition, are published once`, async () => {
      const messages = kinds.flatMap(([, bad], i) => [good(`before-${i}`), bad, good(`after-${i}`)]);
      const producer = suite.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await producer.send({
          topic: suite.topic(TOPICS.usageEventsRaw),
          acks: -1,
          messages: messages.map((m) => ({ key: 'customer-1', partition: 0, value: m.value, headers: m.headers })),
        });
      } finally {
        await producer.disconnect();
      }
      const goodIds = kinds.flatMap((_, i) => [id(`before-${i}`), id(`after-${i}`)]);
      await publishedOnce(goodIds);
      const dead = await expectEventually(() => {
        const list = collector.on<DeadLetter>(TOPICS.usageEventsDlq).filter((m) => m.value.source.partition === 0);
        expect(list.length).toBeGreaterThanOrEqual(kinds.length);
        return list;
      });
      const byOffset = [...dead].sort((a, b) => Number(BigInt(a.value.source.offset) - BigInt(b.value.source.offset))).slice(-kinds.length);
      kinds.forEach(([what, , reason], i) => {
        expect({ what, reason: byOffset[i].value.reason }).toEqual({ what, reason: expect.stringMatching(reason) });
      });
      // Each good event exactly once, in order around its bad neighbour.
      const order = published().map((m) => m.value.id).filter((x) => goodIds.includes(x));
      expect(order).toEqual(goodIds);
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
    });
  });
});

/** kafkajs takes string or Buffer header values; the SDK hands over attribute values as they are. */
function stringHeaders(headers: Record<string, unknown>): IHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]));
}
