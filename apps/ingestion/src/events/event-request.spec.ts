import { CloudEvent, HTTP } from 'cloudevents';
import type { MeterRule } from '../meters/meter-readings';
import { httpHeaderText, parseEventsBody, validateEvents, type RequestLimits } from './event-request';

const limits: RequestLimits = {
  maxEventBytes: 200,
  maxBatchEvents: 3,
  maxLatenessMs: 24 * 3_600_000,
  maxFutureMs: 5 * 60_000,
};

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** `{"x":"…"}` is 8 bytes plus the string's UTF-8 bytes. */
const sized = (bytes: number): { x: string } => ({ x: 'a'.repeat(bytes - 8) });

describe('parseEventsBody', () => {
  const event = { specversion: '1.0', id: 'e1' };

  describe('content type', () => {
    it('accepts application/cloudevents+json as a single event', () => {
      expect(parseEventsBody('application/cloudevents+json', json(event), limits)).toEqual({ ok: true, items: [event], batch: false });
    });

    it('accepts application/json as a single event', () => {
      expect(parseEventsBody('application/json', json(event), limits)).toEqual({ ok: true, items: [event], batch: false });
    });

    it('ignores parameters such as charset, surrounding spaces and letter case', () => {
      expect(parseEventsBody('application/json; charset=utf-8', json(event), limits)).toEqual({ ok: true, items: [event], batch: false });
      expect(parseEventsBody('  Application/CloudEvents+JSON ;charset=UTF-8', json(event), limits)).toEqual({ ok: true, items: [event], batch: false });
      expect(parseEventsBody('application/cloudevents-batch+json; charset=utf-8', json([event]), limits)).toEqual({
        ok: true,
        items: [event],
        batch: true,
      });
    });

    it('accepts application/cloudevents-batch+json with an array as a batch', () => {
      const second = { specversion: '1.0', id: 'e2' };
      expect(parseEventsBody('application/cloudevents-batch+json', json([event, second]), limits)).toEqual({
        ok: true,
        items: [event, second],
        batch: true,
      });
    });

    it('treats an array sent as application/json as a batch', () => {
      expect(parseEventsBody('application/json', json([event]), limits)).toEqual({ ok: true, items: [event], batch: true });
    });

    it('refuses another content type with 415, naming it', () => {
      const result = parseEventsBody('text/plain; charset=utf-8', json(event), limits);
      expect(result).toEqual({
        ok: false,
        status: 415,
        detail:
          'content type "text/plain" is not accepted: use application/cloudevents+json, application/json or application/cloudevents-batch+json (or binary mode: ce-* headers with JSON data)',
      });
    });

    it('refuses a look-alike content type with 415', () => {
      expect(parseEventsBody('application/cloudevents+jsonx', json(event), limits)).toMatchObject({ ok: false, status: 415 });
      expect(parseEventsBody('application/x-www-form-urlencoded', json(event), limits)).toMatchObject({ ok: false, status: 415 });
    });

    it('refuses a missing or empty content type with 415 "(none)"', () => {
      for (const contentType of [undefined, '', ' ; charset=utf-8']) {
        const result = parseEventsBody(contentType, json(event), limits);
        expect(result).toMatchObject({ ok: false, status: 415 });
        expect(!result.ok && result.detail).toMatch(/^content type "\(none\)" is not accepted/);
      }
    });

    it('checks the content type before the body', () => {
      expect(parseEventsBody('text/plain', Buffer.from('not json'), limits)).toMatchObject({ ok: false, status: 415 });
    });
  });

  describe('JSON shape', () => {
    it('refuses invalid JSON with 400 at pointer ""', () => {
      for (const raw of ['{"id": ', 'not json', '']) {
        const result = parseEventsBody('application/json', Buffer.from(raw), limits);
        expect(result).toMatchObject({ ok: false, status: 400, detail: 'the body is not valid JSON' });
        if (result.ok) throw new Error('expected a failure');
        expect(result.errors).toHaveLength(1);
        expect(result.errors?.[0].pointer).toBe('');
        expect(result.errors?.[0].detail).toEqual(expect.any(String));
        expect(result.errors?.[0].detail).not.toBe('');
      }
    });

    it('refuses an object sent with the batch content type with 400', () => {
      expect(parseEventsBody('application/cloudevents-batch+json', json(event), limits)).toEqual({
        ok: false,
        status: 400,
        detail: 'a batch must be a JSON array',
        errors: [{ pointer: '', detail: 'must be an array of events' }],
      });
    });

    it('refuses a scalar sent with the batch content type with 400', () => {
      expect(parseEventsBody('application/cloudevents-batch+json', json('x'), limits)).toMatchObject({
        ok: false,
        status: 400,
        detail: 'a batch must be a JSON array',
      });
    });

    it('refuses a single event that is not an object with 400', () => {
      for (const value of [42, 'event', null, true]) {
        expect(parseEventsBody('application/cloudevents+json', json(value), limits)).toEqual({
          ok: false,
          status: 400,
          detail: 'an event must be a JSON object',
          errors: [{ pointer: '', detail: 'must be an object' }],
        });
      }
    });

    it('refuses an empty batch with 400, whichever content type', () => {
      const expected = { ok: false, status: 400, detail: 'the batch is empty', errors: [{ pointer: '', detail: 'must contain at least one event' }] };
      expect(parseEventsBody('application/cloudevents-batch+json', json([]), limits)).toEqual(expected);
      expect(parseEventsBody('application/json', json([]), limits)).toEqual(expected);
    });

    it('leaves the items of a batch to validateEvents, even when they are not objects', () => {
      expect(parseEventsBody('application/cloudevents-batch+json', json([1, null]), limits)).toEqual({ ok: true, items: [1, null], batch: true });
    });
  });

  describe('limits', () => {
    it('accepts exactly maxBatchEvents events', () => {
      const result = parseEventsBody('application/cloudevents-batch+json', json([{ a: 1 }, { a: 2 }, { a: 3 }]), limits);
      expect(result).toEqual({ ok: true, items: [{ a: 1 }, { a: 2 }, { a: 3 }], batch: true });
    });

    it('refuses more than maxBatchEvents events with 413', () => {
      expect(parseEventsBody('application/cloudevents-batch+json', json([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]), limits)).toEqual({
        ok: false,
        status: 413,
        detail: 'the batch has 4 events; at most 3 are accepted per request',
      });
    });

    it('accepts an event of exactly maxEventBytes', () => {
      expect(JSON.stringify(sized(200))).toHaveLength(200);
      expect(parseEventsBody('application/json', json(sized(200)), limits)).toEqual({ ok: true, items: [sized(200)], batch: false });
    });

    it('refuses a single event over maxEventBytes with 413 at pointer ""', () => {
      expect(parseEventsBody('application/cloudevents+json', json(sized(201)), limits)).toEqual({
        ok: false,
        status: 413,
        detail: 'events over the limit of 200 bytes',
        errors: [{ pointer: '', detail: 'event is 201 bytes' }],
      });
    });

    it('names every oversized event of a batch by index', () => {
      const body = json([{ a: 1 }, sized(201), sized(250)]);
      expect(parseEventsBody('application/cloudevents-batch+json', body, limits)).toEqual({
        ok: false,
        status: 413,
        detail: 'events over the limit of 200 bytes',
        errors: [
          { pointer: '/1', detail: 'event is 201 bytes' },
          { pointer: '/2', detail: 'event is 250 bytes' },
        ],
      });
    });

    it('measures events in UTF-8 bytes, not characters', () => {
      // 8 + 100 two-byte characters = 208 bytes but only 108 characters.
      const wide = { x: 'é'.repeat(100) };
      expect(parseEventsBody('application/json', json(wide), limits)).toEqual({
        ok: false,
        status: 413,
        detail: 'events over the limit of 200 bytes',
        errors: [{ pointer: '', detail: 'event is 208 bytes' }],
      });
    });
  });
});

describe('parseEventsBody: binary mode and input limits', () => {
  const roomy: RequestLimits = { ...limits, maxEventBytes: 10_000 };
  const attributes = { id: 'e1', source: 'svc', type: 'api.call', subject: 'c1', time: '2024-05-01T11:59:00.000Z', data: { tokens: 5 } };
  /** Headers as Node hands them to the controller: lower-case names. */
  const lower = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));

  it('reads the SDK\'s HTTP binary mode: ce-* headers are attributes, the body is data', () => {
    const message = HTTP.binary(new CloudEvent({ ...attributes, tenant: 'acme' }));
    const headers = lower(message.headers);
    const result = parseEventsBody(headers['content-type'], Buffer.from(message.body as string), roomy, headers);
    expect(result).toEqual({
      ok: true,
      batch: false,
      items: [{ specversion: '1.0', ...attributes, tenant: 'acme', datacontenttype: 'application/json; charset=utf-8' }],
    });
  });

  it('reads the SDK\'s HTTP structured mode as before', () => {
    const message = HTTP.structured(new CloudEvent(attributes));
    const headers = lower(message.headers);
    const result = parseEventsBody(headers['content-type'], Buffer.from(message.body as string), roomy, headers);
    expect(result).toMatchObject({ ok: true, batch: false, items: [{ id: 'e1', data: { tokens: 5 } }] });
  });

  it('reads binary mode without a body as an event without data', () => {
    const headers = { 'ce-id': 'e1', 'ce-specversion': '1.0' };
    expect(parseEventsBody(undefined, Buffer.alloc(0), roomy, headers)).toEqual({ ok: true, batch: false, items: [{ id: 'e1', specversion: '1.0' }] });
  });

  it('percent-decodes header values (HTTP binding 3.1.3.2) and reads raw UTF-8', () => {
    expect(httpHeaderText('caf%C3%A9%20bar')).toEqual({ ok: true, text: 'café bar' });
    expect(httpHeaderText(Buffer.from('café').toString('latin1'))).toEqual({ ok: true, text: 'café' });
    expect(httpHeaderText('50%off%')).toEqual({ ok: true, text: '50%off%' });
    expect(httpHeaderText('caf%E9')).toEqual({ ok: false, why: 'is not UTF-8 (byte 0xe9 at offset 3, after percent-decoding)' });
    expect(httpHeaderText('caf\u00e9')).toMatchObject({ ok: false });
  });

  it.each<[string, string | undefined, string | Buffer, Record<string, string>, number, string, RegExp]>([
    ['non-JSON binary data', 'text/plain', 'tokens=5', { 'ce-id': 'e1' }, 415, '/datacontenttype', /meters read JSON data/],
    ['binary data that is not valid JSON', 'application/json', '{"tokens":', { 'ce-id': 'e1' }, 400, '/data', /is not valid JSON/],
    ['binary data that is an array', 'application/json', '[1]', { 'ce-id': 'e1' }, 400, '/data', /must be a JSON object/],
    ['a ce- header that is not UTF-8', 'application/json', '{}', { 'ce-subject': 'caf%E9' }, 400, '/subject', /the ce-subject header is not UTF-8/],
    ['binary data in Latin-1', 'application/json', Buffer.from('{"s":"caf\u00e9"}', 'latin1'), { 'ce-id': 'e1' }, 400, '/data', /is not valid UTF-8/],
    ['binary data nested too deep', 'application/json', '['.repeat(100_000), { 'ce-id': 'e1' }, 400, '/data/0/0/0', /nests deeper than 31 levels/],
  ])('refuses %s with %i naming the field', (_what, contentType, body, headers, status, pointer, detail) => {
    const result = parseEventsBody(contentType, Buffer.isBuffer(body) ? body : Buffer.from(body), roomy, { ...(contentType ? { 'content-type': contentType } : {}), ...headers });
    expect(result).toMatchObject({ ok: false, status });
    const errors = (!result.ok && result.errors) || [];
    expect(errors[0].pointer.startsWith(pointer)).toBe(true);
    expect(errors[0].detail).toMatch(detail);
  });

  it.each<[string, string, string, RegExp]>([
    ['a 100,000-deep array', '['.repeat(100_000) + ']'.repeat(100_000), '/0/0', /nests deeper than 33 levels/],
    ['an event nested 33 levels', JSON.stringify({ data: JSON.parse('{"a":'.repeat(32) + '1' + '}'.repeat(32)) }), '/data/a', /nests deeper than 32 levels/],
    ['a duplicate id', '{"id":"a","id":"b"}', '/id', /duplicate member name/],
    ['NUL in a data value', '{"data":{"m":"a\\u0000"}}', '/data/m', /NUL/],
    ['an unpaired surrogate in a data key', '{"data":{"\\udc00":1}}', '/data/\udc00', /unpaired UTF-16 surrogate/],
    ['an integer beyond 2^53', '{"data":{"tokens":9007199254740993}}', '/data/tokens', /2\^53/],
    ['a fraction beyond a double', '{"data":{"tokens":0.1000000000000000055511151231257827}}', '/data/tokens', /more precision/],
  ])('refuses %s with 400 naming the field', (_what, body, pointer, detail) => {
    const result = parseEventsBody('application/json', Buffer.from(body), roomy);
    expect(result).toMatchObject({ ok: false, status: 400, detail: 'the body breaks an input limit' });
    const errors = (!result.ok && result.errors) || [];
    expect(errors[0].pointer.startsWith(pointer)).toBe(true);
    expect(errors[0].detail).toMatch(detail);
  });

  it('accepts an event nested exactly 32 levels, alone and in a batch', () => {
    // The event is level 1, data level 2, 31 objects nested in data: 32.
    const event = JSON.stringify({ data: JSON.parse('{"a":'.repeat(31) + '1' + '}'.repeat(31)) });
    expect(parseEventsBody('application/json', Buffer.from(event), roomy)).toMatchObject({ ok: true });
    expect(parseEventsBody('application/cloudevents-batch+json', Buffer.from(`  [${event}]`), roomy)).toMatchObject({ ok: true });
  });

  it('refuses a body that is not UTF-8 with 400, and a charset other than UTF-8 with 415', () => {
    expect(parseEventsBody('application/json', Buffer.from('{"id":"caf\u00e9"}', 'latin1'), roomy)).toMatchObject({ ok: false, status: 400, detail: 'the body is not UTF-8' });
    expect(parseEventsBody('application/json; charset=utf-16', Buffer.from('{}'), roomy)).toMatchObject({ ok: false, status: 415 });
  });
});

describe('validateEvents', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');
  const tenant = 'acme';
  const meters: MeterRule[] = [
    { slug: 'tokens', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.data.tokens', groupBy: { model: '$.data.model' } },
    { slug: 'calls', eventType: 'api.call', aggregation: 'COUNT', valueProperty: null, groupBy: {} },
  ];
  const base = {
    specversion: '1.0',
    id: 'evt-1',
    source: 'svc',
    type: 'api.call',
    subject: 'customer-1',
    time: '2024-05-01T11:59:00Z',
    data: { tokens: 5, model: 'small' },
  };
  const ev = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ ...base, ...over });
  const without = (field: string): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...base };
    delete copy[field];
    return copy;
  };
  const single = (item: unknown) => validateEvents([item], false, tenant, meters, now, limits);
  const batch = (...items: unknown[]) => validateEvents(items, true, tenant, meters, now, limits);

  describe('a good event', () => {
    it('comes back normalized: tenant stamped, deterministic event id, readings, UTC time', () => {
      expect(single(base)).toEqual({
        ok: true,
        events: [
          {
            // sha256("acme\0svc\0evt-1"), first 32 hex digits
            eventId: 'f451209074eef0402d0794792a53fcf2',
            occurredAt: '2024-05-01T11:59:00.000Z',
            tenant: 'acme',
            id: 'evt-1',
            source: 'svc',
            type: 'api.call',
            subject: 'customer-1',
            time: '2024-05-01T11:59:00.000Z',
            data: { tokens: 5, model: 'small' },
            readings: [
              { meter: 'tokens', aggregation: 'SUM', value: '5', groupBy: { model: 'small' } },
              { meter: 'calls', aggregation: 'COUNT', value: null, groupBy: {} },
            ],
          },
        ],
      });
    });

    it('defaults time to now', () => {
      const result = single(without('time'));
      expect(result.ok && result.events[0].time).toBe('2024-05-01T12:00:00.000Z');
      expect(result.ok && result.events[0].occurredAt).toBe('2024-05-01T12:00:00.000Z');
    });

    it('converts a time with an offset to UTC', () => {
      const result = single(ev({ time: '2024-05-01T13:30:00+02:00' }));
      expect(result.ok && result.events[0].time).toBe('2024-05-01T11:30:00.000Z');
    });

    it('accepts the tenant attribute when it is the key\'s tenant', () => {
      const result = single(ev({ tenant: 'acme' }));
      expect(result.ok).toBe(true);
      expect(result.ok && result.events[0].tenant).toBe('acme');
    });

    it('accepts a numeric string as a SUM value, trimmed', () => {
      const result = single(ev({ data: { tokens: ' 12.50 ' } }));
      expect(result.ok && result.events[0].readings[0]).toEqual({ meter: 'tokens', aggregation: 'SUM', value: '12.50', groupBy: {} });
    });

    it('gives an event of a type no meter measures no readings', () => {
      const result = single(ev({ type: 'other', data: undefined }));
      expect(result.ok && result.events[0]).toMatchObject({ type: 'other', data: {}, readings: [] });
    });

    it('accepts times exactly at the future and lateness limits', () => {
      expect(single(ev({ time: '2024-05-01T12:05:00Z' })).ok).toBe(true);
      expect(single(ev({ time: '2024-04-30T12:00:00Z' })).ok).toBe(true);
    });

    it('returns every event of a good batch in order', () => {
      const result = batch(ev({ id: 'evt-1' }), ev({ id: 'evt-2' }));
      expect(result.ok && result.events.map((e) => [e.id, e.eventId])).toEqual([
        ['evt-1', 'f451209074eef0402d0794792a53fcf2'],
        ['evt-2', '471c4e19717d47037d16f2cbd1ac0842'],
      ]);
    });
  });

  describe('required attributes', () => {
    for (const field of ['id', 'source', 'type', 'subject']) {
      it(`reports a missing ${field} at /${field} as "is required"`, () => {
        expect(single(without(field))).toEqual({ ok: false, errors: [{ pointer: `/${field}`, detail: 'is required' }] });
      });

      it(`reports an empty ${field} at /${field}`, () => {
        expect(single(ev({ [field]: '' }))).toEqual({ ok: false, errors: [{ pointer: `/${field}`, detail: 'must not be empty' }] });
      });
    }

    it('reports every missing attribute of one event', () => {
      expect(single({ specversion: '1.0' })).toEqual({
        ok: false,
        errors: [
          { pointer: '/id', detail: 'is required' },
          { pointer: '/source', detail: 'is required' },
          { pointer: '/type', detail: 'is required' },
          { pointer: '/subject', detail: 'is required' },
        ],
      });
    });

    it('reports a non-string id with the type error, not "is required"', () => {
      const result = single(ev({ id: 7 }));
      expect(result.ok).toBe(false);
      expect(!result.ok && result.errors).toEqual([{ pointer: '/id', detail: expect.stringMatching(/string/) }]);
    });

    it('reports a specversion other than 1.0 at /specversion', () => {
      expect(single(ev({ specversion: '0.3' }))).toEqual({ ok: false, errors: [{ pointer: '/specversion', detail: 'must be "1.0"' }] });
      expect(single(ev({ specversion: 1 }))).toEqual({ ok: false, errors: [{ pointer: '/specversion', detail: 'must be "1.0"' }] });
      expect(single(without('specversion'))).toEqual({ ok: false, errors: [{ pointer: '/specversion', detail: 'must be "1.0"' }] });
    });

    it('reports an item that is not an object at its own pointer', () => {
      expect(single(42)).toEqual({ ok: false, errors: [{ pointer: '', detail: 'must be an object' }] });
      expect(batch(base, null, [base])).toEqual({
        ok: false,
        errors: [
          { pointer: '/1', detail: 'must be an object' },
          { pointer: '/2', detail: 'must be an object' },
        ],
      });
    });
  });

  describe('time', () => {
    it('reports an unparseable time at /time', () => {
      for (const time of ['yesterday', '2024-05-01 11:59:00', '2024-05-01', '2024-13-01T00:00:00Z']) {
        expect(single(ev({ time }))).toEqual({ ok: false, errors: [{ pointer: '/time', detail: 'must be an RFC 3339 timestamp' }] });
      }
    });

    it('reports a time further ahead than maxFutureMs', () => {
      expect(single(ev({ time: '2024-05-01T12:05:00.001Z' }))).toEqual({ ok: false, errors: [{ pointer: '/time', detail: 'more than 5 min in the future' }] });
    });

    it('reports a time older than maxLatenessMs', () => {
      expect(single(ev({ time: '2024-04-30T11:59:59.999Z' }))).toEqual({
        ok: false,
        errors: [{ pointer: '/time', detail: 'older than the maximum lateness of 24 h' }],
      });
    });
  });

  describe('data', () => {
    it('reports data that is not an object at /data', () => {
      for (const [data, kind] of [
        ['tokens=5', 'string'],
        [[5], 'array'],
        [5, 'number'],
      ] as const) {
        expect(single(ev({ data }))).toEqual({ ok: false, errors: [{ pointer: '/data', detail: `Expected object, received ${kind}` }] });
      }
    });

    it('reports a SUM meter value that is missing at /data', () => {
      const expected = { ok: false, errors: [{ pointer: '/data', detail: 'meter "tokens" needs a number at $.data.tokens' }] };
      expect(single(ev({ data: { model: 'small' } }))).toEqual(expected);
      expect(single(without('data'))).toEqual(expected);
    });

    it('reports a SUM meter value that is not numeric at /data', () => {
      for (const tokens of ['lots', '1e3', true, { n: 5 }, null]) {
        expect(single(ev({ data: { tokens } }))).toEqual({
          ok: false,
          errors: [{ pointer: '/data', detail: 'meter "tokens" needs a number at $.data.tokens' }],
        });
      }
    });
  });

  describe('tenant', () => {
    it('reports a tenant other than the key\'s at /tenant', () => {
      expect(single(ev({ tenant: 'globex' }))).toEqual({ ok: false, errors: [{ pointer: '/tenant', detail: "must be the API key's tenant (or left out)" }] });
    });
  });

  describe('batches', () => {
    it('reports a duplicate id+source at the later event\'s /id', () => {
      expect(batch(ev(), ev())).toEqual({ ok: false, errors: [{ pointer: '/1/id', detail: 'duplicates event 0 (same id and source) in this batch' }] });
    });

    it('names the first occurrence of a duplicate', () => {
      expect(batch(ev({ id: 'a' }), ev({ id: 'b' }), ev({ id: 'b' }))).toEqual({
        ok: false,
        errors: [{ pointer: '/2/id', detail: 'duplicates event 1 (same id and source) in this batch' }],
      });
    });

    it('accepts the same id from different sources', () => {
      const result = batch(ev(), ev({ source: 'other-svc' }));
      expect(result.ok && result.events.map((e) => e.eventId)).toEqual(['f451209074eef0402d0794792a53fcf2', 'fa759552c85c944502936b96080ae478']);
    });

    it('prefixes pointers with the index of the event', () => {
      expect(batch(ev({ id: 'a' }), ev({ id: 'b', time: 'soon' }))).toEqual({ ok: false, errors: [{ pointer: '/1/time', detail: 'must be an RFC 3339 timestamp' }] });
      expect(batch(ev({ id: 'a', tenant: 'globex' }))).toEqual({
        ok: false,
        errors: [{ pointer: '/0/tenant', detail: "must be the API key's tenant (or left out)" }],
      });
    });

    it('reports all errors of all events together and returns no events', () => {
      expect(
        batch(
          ev({ id: 'ok' }),
          { ...without('subject'), id: 'a', source: '' },
          ev({ id: 'b', time: '2024-05-02T00:00:00Z', data: { tokens: 'many' } }),
          ev({ id: 'c', data: 'x' }),
          ev({ id: 'ok' }),
        ),
      ).toEqual({
        ok: false,
        errors: [
          { pointer: '/1/source', detail: 'must not be empty' },
          { pointer: '/1/subject', detail: 'is required' },
          { pointer: '/2/time', detail: 'more than 5 min in the future' },
          { pointer: '/2/data', detail: 'meter "tokens" needs a number at $.data.tokens' },
          { pointer: '/3/data', detail: 'Expected object, received string' },
          { pointer: '/4/id', detail: 'duplicates event 0 (same id and source) in this batch' },
        ],
      });
    });
  });
});
